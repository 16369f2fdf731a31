"""Links a message gets when it is sent, never before: they hold a token, and a delivery request
travels on a topic. The unsubscribe link is `unsubscribe.py`'s; the exit form's link is made here
from the link's id in the event, with the secret offboarding derives its tokens from."""

from dataclasses import dataclass
from typing import Any

from shared.events.offboarding import ExitFormIssuedV2
from shared.links import DerivedLinks

EXIT_FORM_ISSUED = ExitFormIssuedV2.event_type.type


@dataclass(frozen=True)
class ExitFormLinks:
    base_url: str  # where offboarding serves the form
    tokens: DerivedLinks

    def url(self, link_id: str, key_id: str) -> str:
        return f"{self.base_url.rstrip('/')}/exit-form/{self.tokens.token(link_id, key_id)}"

    def add_to(self, source_event_type: str, event: dict[str, Any]) -> dict[str, Any]:
        """The event as a template sees it: with its `form_url` when it names an exit-form link."""
        if source_event_type != EXIT_FORM_ISSUED:
            return event
        return event | {"form_url": self.url(event["link_id"], event["link_key_id"])}
