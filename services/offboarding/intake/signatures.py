"""Webhook signatures, one scheme per kind of source. Each check returns the request's replay
key (what must not be accepted twice) or raises SignatureRefused; all of it is pure.

- generic:  `X-Timestamp: <unix seconds>`, `X-Signature: sha256=<hex>` where the HMAC-SHA256
            covers `<timestamp>.<raw body>`;
- BambooHR: `X-BambooHR-Timestamp`, `X-BambooHR-Signature: <hex>`, HMAC-SHA256 of
            `<raw body><timestamp>` with the webhook's private key;
- HiBob:    `Bob-Signature: <base64>`, HMAC-SHA512 of the raw body; the time is the payload's
            `triggeredAt`, read once the signature holds.
"""

import base64
import hashlib
import hmac
import json
from collections.abc import Mapping
from datetime import UTC, datetime


class SignatureRefused(Exception):
    """The request is not authentic, or no longer fresh: answered 401."""


class Replayed(Exception):
    """The request's replay key was received before: answered 401 too."""


def _fresh(sent_at: datetime, now: datetime, tolerance_seconds: int) -> None:
    if abs((now - sent_at).total_seconds()) > tolerance_seconds:
        raise SignatureRefused(f"stale request: signed at {sent_at.isoformat()}, more than {tolerance_seconds}s from now")


def _instant(value: str) -> datetime:
    """Unix seconds, or an ISO 8601 instant."""
    try:
        return datetime.fromtimestamp(int(value), UTC)
    except ValueError:
        pass
    try:
        instant = datetime.fromisoformat(value)
    except ValueError:
        raise SignatureRefused(f"unreadable timestamp {value[:40]!r}") from None
    return instant if instant.tzinfo else instant.replace(tzinfo=UTC)


def _required(headers: Mapping[str, str], name: str) -> str:
    value = headers.get(name.lower())
    if not value:
        raise SignatureRefused(f"missing header {name}")
    return value


def _same(expected: str, given: str) -> str:
    """The signature, checked; what is returned (the replay key) is the canonical form computed
    here, never the header as sent: padding a header must not make a replay look new."""
    if not hmac.compare_digest(expected.encode(), given.strip().encode("utf-8", "replace")):
        raise SignatureRefused("bad signature")
    return expected


def sign_generic(secret: str, timestamp: str, body: bytes) -> str:
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def verify_generic(headers: Mapping[str, str], body: bytes, secret: str, now: datetime, tolerance: int) -> str:
    timestamp = _required(headers, "X-Timestamp")
    signature = _required(headers, "X-Signature")
    canonical = _same(sign_generic(secret, timestamp, body), signature)
    _fresh(_instant(timestamp), now, tolerance)
    return canonical


def sign_bamboohr(secret: str, timestamp: str, body: bytes) -> str:
    return hmac.new(secret.encode(), body + timestamp.encode(), hashlib.sha256).hexdigest()


def verify_bamboohr(headers: Mapping[str, str], body: bytes, secret: str, now: datetime, tolerance: int) -> str:
    timestamp = _required(headers, "X-BambooHR-Timestamp")
    signature = _required(headers, "X-BambooHR-Signature")
    canonical = _same(sign_bamboohr(secret, timestamp, body), signature.lower())
    _fresh(_instant(timestamp), now, tolerance)
    return canonical


def sign_hibob(secret: str, body: bytes) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha512).digest()).decode()


def verify_hibob(headers: Mapping[str, str], body: bytes, secret: str, now: datetime, tolerance: int) -> str:
    signature = _required(headers, "Bob-Signature")
    canonical = _same(sign_hibob(secret, body), signature)
    try:
        triggered_at = json.loads(body).get("triggeredAt") or json.loads(body).get("creationDate")
    except (ValueError, AttributeError):
        triggered_at = None
    if not triggered_at:
        raise SignatureRefused("the payload has no triggeredAt to check its freshness")
    _fresh(_instant(str(triggered_at)), now, tolerance)
    return canonical
