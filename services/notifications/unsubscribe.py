"""One-click unsubscribe links (RFC 8058): a token names an alumnus and a purpose, signed so that
nobody can unsubscribe someone else."""

import base64
import hashlib
import hmac
from dataclasses import dataclass

from shared.events.types import Purpose


class InvalidToken(Exception):
    pass


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _sign(secret: str, body: str) -> str:
    return _b64(hmac.new(secret.encode(), body.encode(), hashlib.sha256).digest())


def make_token(secret: str, alumnus_id: str, purpose: Purpose) -> str:
    body = _b64(f"{alumnus_id}:{purpose.value}".encode())
    return f"{body}.{_sign(secret, body)}"


def read_token(secret: str, token: str) -> tuple[str, Purpose]:
    # A token of ours is ASCII; compare_digest refuses to compare other strings (TypeError).
    if not token.isascii():
        raise InvalidToken("this unsubscribe link is not valid")
    body, _, signature = token.partition(".")
    if not hmac.compare_digest(_sign(secret, body), signature):
        raise InvalidToken("this unsubscribe link is not valid")
    try:
        alumnus_id, _, purpose = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)).decode().rpartition(":")
        return alumnus_id, Purpose(purpose)
    except ValueError:  # not base64, not UTF-8, or no such purpose
        raise InvalidToken("this unsubscribe link is not valid") from None


@dataclass(frozen=True)
class UnsubscribeLinks:
    """Links under `public_base_url`, where this service is reached from an email."""

    secret: str
    public_base_url: str

    def url(self, alumnus_id: str, purpose: Purpose) -> str:
        return f"{self.public_base_url.rstrip('/')}/unsubscribe/{make_token(self.secret, alumnus_id, purpose)}"

    def read(self, token: str) -> tuple[str, Purpose]:
        return read_token(self.secret, token)
