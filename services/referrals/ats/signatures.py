"""ATS webhook signatures, one scheme per kind of source. Each check returns the request's
replay key (the canonical signature computed here, never the header as sent) and how long that
key must be remembered, or raises SignatureRefused. All of it is pure.

- generic:    `X-Timestamp: <unix seconds>`, `X-Signature: sha256=<hex>`, HMAC-SHA256 of
              `<timestamp>.<raw body>` (the HRIS intake's scheme);
- Greenhouse: `Signature: sha256 <hex>`, HMAC-SHA256 of the raw body with the web hook's secret
              key ("the SHA algorithm used, a space, and the signature";
              https://developers.greenhouse.io/webhooks.html, "Authentication"). Greenhouse
              signs no time: a replay is refused by its marker, kept `UNTIMED_REPLAY_WINDOW`;
- Lever:      the body carries `token`, `triggeredAt` (Unix milliseconds) and `signature`, the
              hex HMAC-SHA256 of `token + triggeredAt` with the webhook's signature token
              (Lever's developer documentation, "Webhooks": verifying the signature). The
              signature does not cover `data`: the marker on it refuses a second body under
              a signature already seen, and freshness comes from `triggeredAt`.
"""

import hashlib
import hmac
import json
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta


class SignatureRefused(Exception):
    """The request is not authentic, or no longer fresh: answered 401."""


# How long the marker of a request whose signature carries no time is kept.
UNTIMED_REPLAY_WINDOW = timedelta(days=30)


def _fresh(sent_at: datetime, now: datetime, tolerance: int) -> None:
    if abs((now - sent_at).total_seconds()) > tolerance:
        raise SignatureRefused(f"stale request: signed at {sent_at.isoformat()}, more than {tolerance}s from now")


def _required(headers: Mapping[str, str], name: str) -> str:
    value = headers.get(name.lower())
    if not value:
        raise SignatureRefused(f"missing header {name}")
    return value


def _same(expected: str, given: str) -> str:
    if not hmac.compare_digest(expected.encode(), given.strip().encode("utf-8", "replace")):
        raise SignatureRefused("bad signature")
    return expected


def _hex(secret: str, message: bytes) -> str:
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def sign_generic(secret: str, timestamp: str, body: bytes) -> str:
    return "sha256=" + _hex(secret, timestamp.encode() + b"." + body)


def verify_generic(headers: Mapping[str, str], body: bytes, secret: str, now: datetime, tolerance: int) -> tuple[str, timedelta]:
    timestamp = _required(headers, "X-Timestamp")
    canonical = _same(sign_generic(secret, timestamp, body), _required(headers, "X-Signature"))
    try:
        sent_at = datetime.fromtimestamp(int(timestamp), UTC)
    except (ValueError, OverflowError, OSError):
        raise SignatureRefused(f"unreadable timestamp {timestamp[:40]!r}") from None
    _fresh(sent_at, now, tolerance)
    return canonical, timedelta(seconds=2 * tolerance)


def sign_greenhouse(secret: str, body: bytes) -> str:
    return "sha256 " + _hex(secret, body)


def verify_greenhouse(headers: Mapping[str, str], body: bytes, secret: str, now: datetime, tolerance: int) -> tuple[str, timedelta]:
    algorithm, _, given = _required(headers, "Signature").strip().partition(" ")
    if algorithm.lower() != "sha256":
        raise SignatureRefused("the Signature header is not a sha256 signature")
    canonical = _same(_hex(secret, body), given.lower())
    return canonical, UNTIMED_REPLAY_WINDOW


def sign_lever(secret: str, token: str, triggered_at: int) -> str:
    return _hex(secret, f"{token}{triggered_at}".encode())


def verify_lever(headers: Mapping[str, str], body: bytes, secret: str, now: datetime, tolerance: int) -> tuple[str, timedelta]:
    try:
        payload = json.loads(body)
        token, triggered_at, signature = payload["token"], payload["triggeredAt"], payload["signature"]
    except (ValueError, TypeError, KeyError):
        raise SignatureRefused("a Lever webhook carries token, triggeredAt and signature in its body") from None
    if not (isinstance(token, str) and isinstance(signature, str) and isinstance(triggered_at, int)) or len(token) > 200:
        raise SignatureRefused("a Lever webhook's token and signature are strings, its triggeredAt milliseconds")
    canonical = _same(sign_lever(secret, token, triggered_at), signature.lower())
    try:
        sent_at = datetime.fromtimestamp(triggered_at / 1000, UTC)
    except (ValueError, OverflowError, OSError):
        raise SignatureRefused("unreadable triggeredAt") from None
    _fresh(sent_at, now, tolerance)
    return canonical, timedelta(seconds=2 * tolerance)
