"""Every route of the routing table, end to end: its event published on Kafka produces its
message at the real SMTP server or chat receiver, and every template previews in fr and en."""

import time
from datetime import UTC, datetime

import httpx
import pytest

from services.notifications.routing import load_routes
from services.notifications.samples import SAMPLES
from shared.events import registry
from shared.links import EMAIL_CONFIRMATION_LINKS, EXIT_FORM_LINKS, DerivedLinks
from shared.settings import DEVELOPMENT_EMAIL_CONFIRMATION_LINK_SECRET, DEVELOPMENT_EXIT_FORM_LINK_SECRET
from tests.integration.notifications.conftest import COMMUNITY, HR, RECRUITING, Messaging

TABLE = load_routes()
EXIT_FORM_TOKENS = DerivedLinks(EXIT_FORM_LINKS, DEVELOPMENT_EXIT_FORM_LINK_SECRET)
CONFIRMATION_TOKENS = DerivedLinks(EMAIL_CONFIRMATION_LINKS, DEVELOPMENT_EMAIL_CONFIRMATION_LINK_SECRET)
PATHS = {"hr": HR, "recruiting": RECRUITING, "community": COMMUNITY}


@pytest.mark.parametrize("route", TABLE.routes, ids=lambda r: f"{r.event.split('.')[-2]}->{r.template}")
async def test_each_route_delivers_its_message(messaging: Messaging, route) -> None:
    alumnus_id, address = await messaging.register(consents={"events": True}, locale="en", first_name=f"Route{time.time_ns() % 10**6}")
    await messaging.mail_to(address)  # the welcome: the projection knows them
    marker = f"m{time.time_ns()}"
    payload = SAMPLES[route.event] | _personalise(route.event, alumnus_id, address, marker)
    if route.audience == "attendees":
        from shared.events.engagement import RsvpRecorded

        await messaging.publish(RsvpRecorded(event_id=payload["event_id"], alumnus_id=alumnus_id, response="yes", recorded_at=datetime.now(UTC)))
        await messaging.rsvp_projected(payload["event_id"], alumnus_id)  # no message of its own: the answer is confirmed from rsvp-confirmed
    event = registry.get(route.event).model.model_validate(payload)
    await messaging.publish(event)

    if route.channel == "chat":
        [post] = await messaging.posts(PATHS[route.team], marker)
        assert post  # the post carries this event's marker
    elif route.audience in ("leaver", "address"):
        [mail] = await messaging.mail_to(payload["email"])
        text = mail.get_body(preferencelist=("plain",)).get_content()
        assert marker in text
        if "link_id" in payload:  # the link is made when the email is sent, with the serving service's secret
            link = f"/exit-form/{EXIT_FORM_TOKENS.token(marker)}" if route.audience == "leaver" else f"/email-confirmation/{CONFIRMATION_TOKENS.token(marker)}"
            assert link in text
    else:
        mails = await messaging.mail_to(address, count=2)
        assert marker in mails[-1].get_body(preferencelist=("plain",)).get_content() or marker in mails[-1]["Subject"]


def _personalise(ce_type: str, alumnus_id: str, address: str, marker: str) -> dict:
    """The sample, made this test's own: its alumnus, and a marker that the message shows."""
    kind = ce_type.split(".")[2]
    if kind == "offboarding":
        link = {"link_id": marker, "link_key_id": EXIT_FORM_TOKENS.kid} if ce_type.endswith("exit-form-issued.v2") else {}
        return {"employee_id": marker, "first_name": marker, "email": f"{marker}@leaver.example", "case_id": f"{marker}/2019-03-01"} | link
    if ce_type.endswith("email-confirmation-requested.v1"):  # to the address to confirm, not the projection's
        return {"alumnus_id": alumnus_id, "email": f"{marker}@typed.example", "first_name": marker, "link_id": marker, "link_key_id": CONFIRMATION_TOKENS.kid}
    if ce_type.endswith("merge-review-opened.v1"):
        return {"review_id": marker, "alumnus_id": alumnus_id}
    if kind == "alumnus":  # a newer version, so that the greeting takes the new name
        return {"alumnus_id": alumnus_id, "version": 2, "profile": SAMPLES[ce_type]["profile"] | {"first_name": marker, "personal_email": address, "locale": "en"}}
    if kind == "referral":
        return {"alumnus_id": alumnus_id, "referral_id": marker, "referred_name": marker}
    if "hosted_event" in SAMPLES[ce_type]:  # engagement's notices: the event's facts, the alumni named
        named = {"alumnus_ids": [alumnus_id]} if "alumnus_ids" in SAMPLES[ce_type] else {"alumnus_id": alumnus_id}
        return {"event_id": marker, "hosted_event": SAMPLES[ce_type]["hosted_event"] | {"event_id": marker, "title": marker}} | named
    return {"event_id": marker, "title": marker, "alumnus_id": alumnus_id}  # hosted events, RSVPs


@pytest.mark.parametrize("locale", ["en", "fr"])
@pytest.mark.parametrize("template", sorted({r.template for r in TABLE.routes}))
async def test_every_template_previews(messaging: Messaging, template: str, locale: str) -> None:
    async with httpx.AsyncClient() as http:
        response = await http.get(f"{messaging.notifications}/templates/{template}/preview", params={"locale": locale}, headers=messaging.auth("alumni:read"))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body.get("text")
    if "subject" in body:
        assert body["subject"] and "<html" in body["html"] and "&lt;3" in body["html"] if template == "event_invitation" else True
