"""Unsubscribe links under hostile input: forged, malformed and non-ASCII tokens are refused with
the same clear answer, by the token reader and by the HTTP API (404, never a server error); a
valid link withdraws the consent at once and tells identity."""

import base64
import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import httpx
import pytest
from fastapi import FastAPI

from services.notifications.api import http_router
from services.notifications.unsubscribe import EXPIRED, ExpiredToken, InvalidToken, UnsubscribeLinks
from shared.events.notifications import UnsubscribeRequested
from shared.events.types import Purpose
from shared.web.auth import TokenVerifier
from shared.links import key_id
from tests.unit.notifications.events import registered
from tests.unit.notifications.fakes import BASE_URL, SECRET, InMemoryNotifications

REFUSED = "this unsubscribe link is not valid"
NOW = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
LINKS = UnsubscribeLinks(SECRET, BASE_URL)


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def signed(body: bytes, secret: str = SECRET) -> str:
    """A token over any body, signed with the right secret: malformed, yet not forged."""
    encoded = b64(body)
    return f"{encoded}.{b64(hmac.new(secret.encode(), encoded.encode(), hashlib.sha256).digest())}"


def claims(fields: object, exp: object = int((NOW + timedelta(days=1)).timestamp()), kid: object = key_id(SECRET)) -> bytes:
    return json.dumps({"f": fields, "exp": exp, "kid": kid}).encode()


TOKEN = LINKS.token("alm_1", Purpose.EVENTS, NOW)
BODY, _, SIGNATURE = TOKEN.partition(".")
HOSTILE = {
    "another alumnus's body with this signature": f"{LINKS.token('alm_2', Purpose.EVENTS, NOW).partition('.')[0]}.{SIGNATURE}",
    "another purpose's body with this signature": f"{LINKS.token('alm_1', Purpose.NEWSLETTER, NOW).partition('.')[0]}.{SIGNATURE}",
    "signed with another secret": UnsubscribeLinks("another-secret", BASE_URL).token("alm_1", Purpose.EVENTS, NOW),
    "a later expiry with this signature": f"{b64(claims({'a': 'alm_1', 'p': 'events'}, exp=4102444800))}.{SIGNATURE}",
    "a character appended": TOKEN + "x",
    "truncated signature": TOKEN[:-1],
    "no signature": BODY,
    "empty": "",
    "only a dot": ".",
    "garbage": "garbage",
    "three parts": f"{TOKEN}.{SIGNATURE}",
    "signed, not base64": signed(b"***")[3:],
    "signed, not UTF-8": signed(b"\xff\xfe:events"),
    "signed, not JSON": signed(b"alm_1:events"),
    "signed, no such purpose": signed(claims({"a": "alm_1", "p": "everything"})),
    "signed, no purpose": signed(claims({"a": "alm_1"})),
    "signed, fields not text": signed(claims({"a": ["alm_1"], "p": "events"})),
    "signed, expiry not a number": signed(claims({"a": "alm_1", "p": "events"}, exp="never")),
    "signed, an unknown key id": signed(claims({"a": "alm_1", "p": "events"}, kid="00000000")),
    "non-ASCII body": f"é{BODY}.{SIGNATURE}",
    "non-ASCII signature": f"{BODY}.{SIGNATURE[:-1]}é",
    "full-width letters": "ａｌｍ．ｘ",
    "NUL": f"{BODY}\x00.{SIGNATURE}",
    "emoji": "🙂.🙂",
    "oversized": "a" * 5000 + "." + SIGNATURE,
}


def test_a_valid_token_names_its_alumnus_and_purpose() -> None:
    assert LINKS.read(TOKEN, NOW) == ("alm_1", Purpose.EVENTS)
    colons = LINKS.token("alm:with:colons", Purpose.NEWSLETTER, NOW)
    assert LINKS.read(colons, NOW) == ("alm:with:colons", Purpose.NEWSLETTER)


@pytest.mark.parametrize("token", HOSTILE.values(), ids=HOSTILE.keys())
def test_a_hostile_token_is_refused_clearly(token: str) -> None:
    with pytest.raises(InvalidToken, match=REFUSED):
        LINKS.read(token, NOW)


def test_a_link_expires() -> None:
    assert LINKS.read(TOKEN, NOW + timedelta(days=179)) == ("alm_1", Purpose.EVENTS)
    with pytest.raises(ExpiredToken, match="expired"):
        LINKS.read(TOKEN, NOW + timedelta(days=180))


def test_a_rotated_secret_keeps_the_links_in_flight_until_it_is_dropped() -> None:
    old = UnsubscribeLinks("the-secret-of-last-quarter-32-chars", BASE_URL)
    in_flight = old.token("alm_1", Purpose.EVENTS, NOW)
    rotated = UnsubscribeLinks(SECRET, BASE_URL, previous_secrets=["the-secret-of-last-quarter-32-chars"])
    assert rotated.read(in_flight, NOW) == ("alm_1", Purpose.EVENTS)
    assert rotated.token("alm_1", Purpose.EVENTS, NOW).partition(".")[0] != in_flight.partition(".")[0]  # signed by the new key
    with pytest.raises(InvalidToken):
        LINKS.read(in_flight, NOW)  # the old secret dropped: its links no longer open


class Api:
    def __init__(self) -> None:
        self.service = InMemoryNotifications()
        app = FastAPI()
        app.include_router(http_router(self.service.deps))
        app.state.runtime = SimpleNamespace(transactions=self.service.transactions, clock=lambda: NOW)
        app.state.token_verifier = TokenVerifier("unit-test-jwt-secret-of-32-bytes!!")
        self.auth = {"Authorization": f"Bearer {app.state.token_verifier.issue('test', ['alumni:read'])}"}
        self.http = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://notifications")


@pytest.mark.parametrize("name", ["signed with another secret", "non-ASCII signature", "emoji", "signed, not UTF-8", "oversized"])
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


async def test_an_expired_link_is_410_and_changes_nothing() -> None:
    api = Api()
    old = LINKS.token("alm_1", Purpose.EVENTS, NOW - timedelta(days=200))
    page = await api.http.get(f"/unsubscribe/{old}")
    posted = await api.http.post(f"/unsubscribe/{old}")
    assert (page.status_code, posted.status_code) == (410, 410) and posted.json() == {"detail": EXPIRED}
    assert api.service.transactions.runs == 0


async def test_the_audit_lists_an_alumnus_deliveries_with_their_status() -> None:
    api = Api()
    await api.service.receive(registered("alm_1"))
    await api.service.deliver()

    listed = await api.http.get("/deliveries", params={"alumnus_id": "alm_1"}, headers=api.auth)
    both = await api.http.get("/deliveries", params={"alumnus_id": "alm_1", "event_id": "e"}, headers=api.auth)

    assert [(d["channel"], d["template"], d["status"]) for d in listed.json()["items"]] == [("email", "welcome", "sent")]
    assert both.status_code == 422
