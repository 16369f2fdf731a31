"""The offboarding service: Exit cases: from an HRIS departure to a completed offboarding."""
