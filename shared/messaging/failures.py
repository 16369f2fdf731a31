"""How a failure is treated: retried with backoff, or dead-lettered at once."""

import random
from dataclasses import dataclass

import pydantic


class PermanentError(Exception):
    """The event can never succeed as it is (a rule it breaks, not an outage): dead-letter it."""


class TransientError(Exception):
    """A dependency is unavailable or slow (an outage, a timeout, a 5xx): worth retrying.
    `retry_after` (seconds) is the least wait the dependency asked for (HTTP 429 Retry-After)."""

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class Contended(TransientError):
    """What a transaction writes is held by another transaction still open: one of a process
    killed mid-transaction, which the database keeps until its transaction lifetime (60 s on
    MongoDB) runs out. Waited out by the consumer, not counted against the retry budget."""


class Superseded(TransientError):
    """A write conditioned on the document as it was read found it changed since (by a handler of
    another topic, at the same moment): the handling is repeated on what is there now."""


@dataclass(frozen=True)
class GaveUp:
    """Why the platform stopped trying an event: given to a handler's `on_give_up`."""

    error_class: str
    message: str
    attempts: int
    permanent: bool


class PoisonRecord(Exception):
    """A record that cannot be read as an event of this consumer: bytes, schema or type."""

    def __init__(self, error_class: str, message: str) -> None:
        super().__init__(message)
        self.error_class = error_class


def is_permanent(exc: BaseException) -> bool:
    # A validation error raised inside a handler is deterministic: retrying repeats it.
    return isinstance(exc, PermanentError | PoisonRecord | pydantic.ValidationError)


def describe(exc: BaseException) -> str:
    """An error message safe to log and to put in headers: never the offending values, which
    may be personal data (pydantic's messages name fields and rules, not inputs)."""
    if isinstance(exc, pydantic.ValidationError):
        return "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or '(payload)'}: {e['msg']}"
            for e in exc.errors(include_input=False, include_url=False)
        )
    return str(exc)[:1000] or type(exc).__name__


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with jitter: attempt n waits between d/2 and d, d = base * 2^(n-1),
    capped. Half the delay is fixed so the backoff always grows; the other half spreads retries
    of many consumers apart."""

    attempts: int = 5
    base_delay: float = 0.2
    max_delay: float = 30.0

    def delay(self, attempt: int) -> float:
        ceiling = min(self.max_delay, self.base_delay * 2 ** (attempt - 1))
        return ceiling / 2 + random.uniform(0, ceiling / 2)
