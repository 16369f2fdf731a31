"""Tokens for links sent by email, HMAC-SHA256 over a secret, so that nobody can make one for
someone else. Two kinds:

- `LinkSigner`: a signed, expiring token that says what the link does (a few short fields),
  until when, and which key signed it (unsubscribe, answers to an invitation);
- `DerivedLinks`: a token derived from a reference that may be public (`link_id`): two services
  holding the same secret compute the same token, so the token itself never travels in an
  event (the exit-form link: offboarding checks it, notifications puts it in the email).

Keys rotate without breaking links in flight: the current secret signs, the previous ones
(kept until the links they made have expired) still verify. A key is named by a fingerprint of
its secret (`kid`), never by the secret.
"""

import base64
import binascii
import hashlib
import hmac
import json
from collections.abc import Sequence
from datetime import datetime


class InvalidLink(Exception):
    """Not a token of ours: malformed, forged, or signed by a key no longer held."""


class ExpiredLink(Exception):
    """A genuine token whose time is over."""


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def key_id(secret: str) -> str:
    return hashlib.sha256(b"link-key:" + secret.encode()).hexdigest()[:8]


class LinkSigner:
    MAX_TOKEN_LENGTH = 512

    def __init__(self, secret: str, previous_secrets: Sequence[str] = ()) -> None:
        self.kid = key_id(secret)
        self._keys = {key_id(s): s.encode() for s in (*previous_secrets, secret)}

    def sign(self, fields: dict[str, str], expires_at: datetime) -> str:
        body = _b64(json.dumps({"f": fields, "exp": int(expires_at.timestamp()), "kid": self.kid}, separators=(",", ":")).encode())
        return f"{body}.{self._mac(self.kid, body)}"

    def read(self, token: str, now: datetime) -> dict[str, str]:
        """The token's fields, once its signature and its time are checked."""
        if len(token) > self.MAX_TOKEN_LENGTH or not token.isascii():
            raise InvalidLink("not a link of ours")
        body, _, signature = token.partition(".")
        try:
            claims = json.loads(_unb64(body))
            kid, expires, fields = claims["kid"], claims["exp"], claims["f"]
        except (ValueError, binascii.Error, KeyError, TypeError):
            raise InvalidLink("not a link of ours") from None
        if not isinstance(kid, str) or kid not in self._keys or not hmac.compare_digest(self._mac(kid, body), signature):
            raise InvalidLink("not a link of ours")
        if not isinstance(expires, int) or not isinstance(fields, dict) or not all(isinstance(v, str) for v in fields.values()):
            raise InvalidLink("not a link of ours")
        if now.timestamp() >= expires:
            raise ExpiredLink("this link has expired")
        return fields

    def _mac(self, kid: str, body: str) -> str:
        return _b64(hmac.new(self._keys[kid], body.encode(), hashlib.sha256).digest())


class RsvpLinks:
    """One-click answers to an invitation (yes, no, maybe), one link each per alumnus and event,
    signed and expiring when the event starts. The token is made from the event's facts by
    whoever holds the secret (notifications, when it sends the invitation), and checked by
    engagement: the same facts give the same token, so no event ever carries one."""

    RESPONSES = ("yes", "no", "maybe")

    def __init__(self, secret: str, previous_secrets: Sequence[str] = ()) -> None:
        self.signer = LinkSigner(secret, previous_secrets)

    def token(self, hosted_event_id: str, alumnus_id: str, response: str, starts_at: datetime) -> str:
        return self.signer.sign({"e": hosted_event_id, "a": alumnus_id, "r": response}, starts_at)

    def read(self, token: str, now: datetime) -> tuple[str, str, str]:
        """(hosted event, alumnus, response) of a genuine link still valid."""
        fields = self.signer.read(token, now)
        if set(fields) != {"e", "a", "r"} or fields["r"] not in self.RESPONSES:
            raise InvalidLink("not a link of ours")
        return fields["e"], fields["a"], fields["r"]


EXIT_FORM_LINKS = "exit-form"  # the purpose of the exit form's derived links
EMAIL_CONFIRMATION_LINKS = "email-confirmation"  # the purpose of the links confirming a personal email


class DerivedLinks:
    def __init__(self, purpose: str, secret: str, previous_secrets: Sequence[str] = ()) -> None:
        self.purpose = purpose
        self.kid = key_id(secret)
        self._keys = {key_id(s): s.encode() for s in (*previous_secrets, secret)}

    def token(self, link_id: str, kid: str | None = None) -> str:
        """The token of the link named `link_id`, by key `kid` (the current one by default)."""
        key = self._keys.get(kid or self.kid)
        if key is None:
            raise InvalidLink("made with a key no longer held")
        return _b64(hmac.new(key, f"{self.purpose}:{link_id}".encode(), hashlib.sha256).digest())
