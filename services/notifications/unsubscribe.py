"""One-click unsubscribe links (RFC 8058): a token names an alumnus and a purpose, signed so that
nobody can unsubscribe someone else."""

import base64
import hashlib
import hmac

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
    body, _, signature = token.partition(".")
    if not hmac.compare_digest(_sign(secret, body), signature):
        raise InvalidToken("this unsubscribe link is not valid")
    try:
        alumnus_id, _, purpose = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)).decode().rpartition(":")
        return alumnus_id, Purpose(purpose)
    except ValueError:
        raise InvalidToken("this unsubscribe link is not valid") from None
