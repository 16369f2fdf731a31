"""Unsubscribe links under hostile input: forged, malformed and non-ASCII tokens are refused with
the same clear answer, by the token reader and by the HTTP API (404, never a server error); a
valid link withdraws the consent at once and tells identity."""

import base64
from types import SimpleNamespace

import httpx
import pytest
from fastapi import FastAPI

from services.notifications.api import http_router
from services.notifications.unsubscribe import InvalidToken, _sign, make_token, read_token
from shared.events.notifications import UnsubscribeRequested
from shared.events.types import Purpose
from shared.web.auth import TokenVerifier
from tests.unit.notifications.events import registered
from tests.unit.notifications.fakes import SECRET, InMemoryNotifications

REFUSED = "this unsubscribe link is not valid"


def signed(body: bytes) -> str:
    """A token over any body, signed with the right secret: malformed, yet not forged."""
    encoded = base64.urlsafe_b64encode(body).rstrip(b"=").decode()
    return f"{encoded}.{_sign(SECRET, encoded)}"


TOKEN = make_token(SECRET, "alm_1", Purpose.EVENTS)
BODY, _, SIGNATURE = TOKEN.partition(".")
HOSTILE = {
    "another alumnus's body with this signature": f"{make_token(SECRET, 'alm_2', Purpose.EVENTS).partition('.')[0]}.{SIGNATURE}",
    "another purpose's body with this signature": f"{make_token(SECRET, 'alm_1', Purpose.NEWSLETTER).partition('.')[0]}.{SIGNATURE}",
    "signed with another secret": make_token("another-secret", "alm_1", Purpose.EVENTS),
    "a character appended": TOKEN + "x",
    "truncated signature": TOKEN[:-1],
    "no signature": BODY,
    "empty": "",
    "only a dot": ".",
    "garbage": "garbage",
    "three parts": f"{TOKEN}.{SIGNATURE}",
    "signed, not base64": f"***.{_sign(SECRET, '***')}",
    "signed, not UTF-8": signed(b"\xff\xfe:events"),
    "signed, no such purpose": signed(b"alm_1:everything"),
    "signed, no purpose": signed(b"alm_1"),
    "non-ASCII body": f"é{BODY}.{SIGNATURE}",
    "non-ASCII signature": f"{BODY}.{SIGNATURE[:-1]}é",
    "full-width letters": "ａｌｍ．ｘ",
    "NUL": f"{BODY}\x00.{SIGNATURE}",
    "emoji": "🙂.🙂",
}


def test_a_valid_token_names_its_alumnus_and_purpose() -> None:
    assert read_token(SECRET, TOKEN) == ("alm_1", Purpose.EVENTS)
    assert read_token(SECRET, make_token(SECRET, "alm:with:colons", Purpose.NEWSLETTER)) == ("alm:with:colons", Purpose.NEWSLETTER)


@pytest.mark.parametrize("token", HOSTILE.values(), ids=HOSTILE.keys())
def test_a_hostile_token_is_refused_clearly(token: str) -> None:
    with pytest.raises(InvalidToken, match=REFUSED):
        read_token(SECRET, token)


class Api:
    def __init__(self) -> None:
        self.service = InMemoryNotifications()
        app = FastAPI()
        app.include_router(http_router(self.service.deps))
        app.state.runtime = SimpleNamespace(transactions=self.service.transactions)
        app.state.token_verifier = TokenVerifier("unit-test-jwt-secret-of-32-bytes!!")
        self.auth = {"Authorization": f"Bearer {app.state.token_verifier.issue('test', ['alumni:read'])}"}
        self.http = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://notifications")


@pytest.mark.parametrize("name", ["signed with another secret", "non-ASCII signature", "emoji", "signed, not UTF-8"])
async def test_the_api_refuses_a_hostile_link_without_changing_anything(name: str) -> None:
    api = Api()
    path = "/unsubscribe/" + httpx.URL("http://x/" + HOSTILE[name]).raw_path.decode().lstrip("/")
    page = await api.http.get(path)
    posted = await api.http.post(path)

    assert (page.status_code, page.text) == (404, f"<p>{REFUSED}</p>")
    assert (posted.status_code, posted.json()) == (404, {"detail": REFUSED})
    assert api.service.transactions.runs == 0


async def test_a_valid_link_withdraws_the_consent_at_once_and_tells_identity() -> None:
    api = Api()
    await api.service.receive(registered("alm_1", consents={"events": True}))

    page = await api.http.get(f"/unsubscribe/{TOKEN}")
    posted = await api.http.post(f"/unsubscribe/{TOKEN}", content="List-Unsubscribe=One-Click")

    assert page.status_code == 200 and '<form method="post">' in page.text and "events" in page.text
    assert (posted.status_code, posted.json()) == (200, {"unsubscribed": "events"})
    assert api.service.store.alumni["alm_1"].consents_to(Purpose.EVENTS) is False
    [request] = api.service.published(UnsubscribeRequested)
    assert (request.alumnus_id, request.purpose) == ("alm_1", Purpose.EVENTS)


async def test_the_audit_lists_an_alumnus_deliveries_with_their_status() -> None:
    api = Api()
    await api.service.receive(registered("alm_1"))
    await api.service.deliver()

    listed = await api.http.get("/deliveries", params={"alumnus_id": "alm_1"}, headers=api.auth)
    both = await api.http.get("/deliveries", params={"alumnus_id": "alm_1", "event_id": "e"}, headers=api.auth)

    assert [(d["channel"], d["template"], d["status"]) for d in listed.json()["items"]] == [("email", "welcome", "sent")]
    assert both.status_code == 422
