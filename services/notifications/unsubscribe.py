"""One-click unsubscribe links (RFC 8058): a token names an alumnus and a purpose, expires, and
is signed (shared/links.py), so that nobody can unsubscribe someone else and an old
email's link does not work for ever. The signing secret rotates without breaking links in
flight: `UNSUBSCRIBE_PREVIOUS_SECRETS` still verify what they signed."""

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from shared.events.types import Purpose
from shared.links import ExpiredLink, InvalidLink, LinkSigner


class InvalidToken(Exception):
    pass


class ExpiredToken(Exception):
    pass


REFUSED = "this unsubscribe link is not valid"
EXPIRED = "this unsubscribe link has expired: change what you receive from the alumni portal"


@dataclass(frozen=True)
class UnsubscribeLinks:
    """Links under `public_base_url`, where this service is reached from an email."""

    secret: str
    public_base_url: str
    valid_for: timedelta = timedelta(days=180)
    previous_secrets: Sequence[str] = ()
    signer: LinkSigner = field(init=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "signer", LinkSigner(self.secret, self.previous_secrets))

    def token(self, alumnus_id: str, purpose: Purpose, now: datetime) -> str:
        return self.signer.sign({"a": alumnus_id, "p": purpose.value}, now + self.valid_for)

    def url(self, alumnus_id: str, purpose: Purpose, now: datetime) -> str:
        return f"{self.public_base_url.rstrip('/')}/unsubscribe/{self.token(alumnus_id, purpose, now)}"

    def read(self, token: str, now: datetime) -> tuple[str, Purpose]:
        try:
            fields = self.signer.read(token, now)
            return fields["a"], Purpose(fields["p"])
        except ExpiredLink:
            raise ExpiredToken(EXPIRED) from None
        except (InvalidLink, KeyError, ValueError):
            raise InvalidToken(REFUSED) from None
