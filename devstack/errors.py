class StackError(Exception):
    """A problem the operator can fix; the CLI prints the message, never a stack trace."""
