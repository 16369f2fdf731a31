"""Links a message gets when it is sent, never before: they hold a token, and a delivery request
travels on a topic. The unsubscribe link is `unsubscribe.py`'s; the links an event names by id
(`link_id`, made with the key `link_key_id`) are made here, with the secret the serving service
derives their tokens from: the exit form's (offboarding) and the personal email's confirmation
(identity)."""

from dataclasses import dataclass
from typing import Any

from shared.events.alumni import EmailConfirmationRequested
from shared.events.offboarding import ExitFormIssuedV2
from shared.links import DerivedLinks

EXIT_FORM_ISSUED = ExitFormIssuedV2.event_type.type
EMAIL_CONFIRMATION_REQUESTED = EmailConfirmationRequested.event_type.type


@dataclass(frozen=True)
class NamedLinks:
    """The links that events of `event_type` name: `<base_url><path><token>`, given to the
    template as the event's `field`."""

    event_type: str
    field: str
    base_url: str  # where the serving service is reached
    path: str
    tokens: DerivedLinks

    def url(self, link_id: str, key_id: str) -> str:
        return f"{self.base_url.rstrip('/')}{self.path}{self.tokens.token(link_id, key_id)}"

    def add_to(self, source_event_type: str, event: dict[str, Any]) -> dict[str, Any]:
        """The event as a template sees it: with its link when it names one of these."""
        if source_event_type != self.event_type:
            return event
        return event | {self.field: self.url(event["link_id"], event["link_key_id"])}


def ExitFormLinks(base_url: str, tokens: DerivedLinks) -> NamedLinks:  # noqa: N802 -- reads as the kind of link it makes
    return NamedLinks(EXIT_FORM_ISSUED, "form_url", base_url, "/exit-form/", tokens)


def EmailConfirmationLinks(base_url: str, tokens: DerivedLinks) -> NamedLinks:  # noqa: N802
    return NamedLinks(EMAIL_CONFIRMATION_REQUESTED, "confirm_url", base_url, "/email-confirmation/", tokens)
