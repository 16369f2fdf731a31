"""Trust in a personal email, over the in-memory repositories: an address typed by a leaver is
never verified until its owner confirms it by the link sent to it; a leaver whose address
matches a record that cannot be trusted waits for HR's review instead of being merged; links
that are forged, expired, replayed or superseded are refused. The same flows on the real stack:
tests/integration/lifecycle/test_email_trust.py."""

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import httpx
import pytest
from fastapi import FastAPI

from services.identity.api import http_router
from services.identity.handlers import event_handlers
from shared.events import Event
from shared.events.alumni import AlumnusRegistered, EmailConfirmationRequested, EmailConfirmed, MergeReviewOpened
from shared.events.offboarding import ExitFormSubmitted
from shared.testing.fakes import FakeTransactions, envelope_for
from shared.web.auth import TokenVerifier
from tests.unit.identity.fakes import CONFIRMATION_LINKS, InMemoryAlumni, dependencies
from tests.unit.identity.test_handlers import completed

SECRET = "identity-unit-test-secret-of-32-chars"
START = datetime(2026, 11, 22, 9, tzinfo=UTC)
ADDRESS = "b@home.example"


class Identity:
    """Identity's handlers and HTTP API over one in-memory store, with a clock the test moves."""

    def __init__(self) -> None:
        self.now = START
        self.alumni = InMemoryAlumni()
        self.deps = dependencies(self.alumni)
        self.events = event_handlers(self.deps)
        self.transactions = FakeTransactions(state=self.alumni, clock=lambda: self.now)
        app = FastAPI()
        app.include_router(http_router(self.deps))
        app.state.runtime = SimpleNamespace(transactions=self.transactions)
        app.state.token_verifier = TokenVerifier(SECRET)
        self.admin = {"Authorization": f"Bearer {TokenVerifier(SECRET).issue('hr', ['alumni:admin'])}"}
        self.http = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://identity")

    async def handle(self, event: Event) -> None:
        _, handler = self.events.handlers[event.event_type.type]
        await self.transactions.run(lambda ctx: handler(event, ctx), envelope=envelope_for(event))

    def published(self, kind: type[Event]) -> list:
        return [e for e in self.transactions.events if isinstance(e, kind)]

    def link(self, requested: EmailConfirmationRequested) -> str:
        """The link as notifications makes it: the event names it, never holds its token."""
        return f"/email-confirmation/{CONFIRMATION_LINKS.tokens.token(requested.link_id, requested.link_key_id)}"


async def a_leaver_types_someone_elses_address(identity: Identity) -> None:
    await identity.handle(completed("E-A", hris_email="a@home.example", personal_email=ADDRESS, phone="+33611111111", consents={"newsletter": True}))


async def test_an_address_typed_in_the_exit_form_is_not_verified_and_its_owner_is_asked_to_confirm() -> None:
    identity = Identity()
    await a_leaver_types_someone_elses_address(identity)
    record = identity.alumni.alumni["alm_1"]
    assert str(record.profile.personal_email) == ADDRESS and not record.personal_email_verified
    [requested] = identity.published(EmailConfirmationRequested)
    assert (requested.alumnus_id, str(requested.email), requested.locale.value) == ("alm_1", ADDRESS, "fr")
    token = CONFIRMATION_LINKS.tokens.token(requested.link_id, requested.link_key_id)
    assert token not in requested.model_dump_json()  # the event never carries the token
    assert token not in str(identity.alumni.confirmations)  # nor is it stored: only its digest


async def test_when_the_owner_of_a_typed_address_leaves_nothing_is_merged_and_hr_reviews_instead() -> None:
    identity = Identity()
    await a_leaver_types_someone_elses_address(identity)
    await identity.handle(completed("E-B", hris_email=ADDRESS))
    a = identity.alumni.alumni["alm_1"]
    assert list(identity.alumni.alumni) == ["alm_1"]  # B is not registered while HR decides
    assert [s.employee_id for s in a.stints] == ["E-A"] and a.profile.phone == "+33611111111"
    [opened] = identity.published(MergeReviewOpened)
    assert (opened.employee_id, opened.alumnus_id) == ("E-B", "alm_1")
    assert ADDRESS not in opened.model_dump_json() and "Inès" not in opened.model_dump_json()  # ids only
    await identity.handle(completed("E-B", hris_email=ADDRESS))  # the HRIS sends it again
    assert len(identity.published(MergeReviewOpened)) == 1


async def test_a_confirmed_address_merges_a_later_leaver_the_hris_gives_it_for() -> None:
    identity = Identity()
    await identity.handle(completed("E-1", hris_email=ADDRESS))
    [requested] = identity.published(EmailConfirmationRequested)
    async with identity.http as http:
        page = await http.get(identity.link(requested))
        assert page.status_code == 200 and "<form method=\"post\">" in page.text
        assert not identity.alumni.alumni["alm_1"].personal_email_verified  # opening the link confirms nothing
        confirmed = await http.post(identity.link(requested), headers={"Accept-Language": "en"})
        assert confirmed.status_code == 200 and "confirmée" in confirmed.text  # the alumnus's language
    assert identity.alumni.alumni["alm_1"].personal_email_verified
    [event] = identity.published(EmailConfirmed)
    assert event.alumnus_id == "alm_1" and event.version == 2
    await identity.handle(completed("E-2", "2024-01-01", hris_email=ADDRESS))
    assert list(identity.alumni.alumni) == ["alm_1"] and identity.published(MergeReviewOpened) == []
    assert [e.boomerang for e in identity.published(AlumnusRegistered)] == [False, True]


async def test_a_confirmed_address_that_only_the_leaver_typed_goes_to_review() -> None:
    identity = Identity()
    await identity.handle(completed("E-1", hris_email=ADDRESS))
    record = identity.alumni.alumni["alm_1"]
    record.personal_email_verified = True
    await identity.handle(completed("E-9", hris_email="someone@else.example", personal_email=ADDRESS))
    assert list(identity.alumni.alumni) == ["alm_1"] and len(identity.published(MergeReviewOpened)) == 1


async def test_hr_merges_or_keeps_separate_once() -> None:
    identity = Identity()
    await a_leaver_types_someone_elses_address(identity)
    await identity.handle(completed("E-B", hris_email=ADDRESS))
    await identity.handle(completed("E-C", "2020-01-01", hris_email=ADDRESS))
    async with identity.http as http:
        listed = (await http.get("/merge-reviews", headers=identity.admin)).json()["items"]
        assert [(r["review_id"], r["employee_id"], r["status"]) for r in listed] == [("rev_1", "E-B", "open"), ("rev_2", "E-C", "open")]
        kept = await http.post("/merge-reviews/rev_1/resolution", json={"decision": "keep_separate"}, headers=identity.admin)
        assert kept.status_code == 200 and kept.json()["alumnus_id"] == "alm_2"
        merged = await http.post("/merge-reviews/rev_2/resolution", json={"decision": "merge"}, headers=identity.admin)
        assert merged.status_code == 200 and merged.json()["alumnus_id"] == "alm_1"
        again = await http.post("/merge-reviews/rev_1/resolution", json={"decision": "merge"}, headers=identity.admin)
        unknown = await http.post("/merge-reviews/rev_9/resolution", json={"decision": "merge"}, headers=identity.admin)
        invalid = await http.post("/merge-reviews/rev_2/resolution", json={"decision": "both"}, headers=identity.admin)
        alumnus = {"Authorization": f"Bearer {TokenVerifier(SECRET).issue('alumnus:alm_1', ['alumni:self'])}"}
        not_hr = await http.get("/merge-reviews", headers=alumnus)
        resolved = (await http.get("/merge-reviews/rev_1", headers=identity.admin)).json()
    assert again.status_code == 409 and unknown.status_code == 404 and invalid.status_code == 422 and not_hr.status_code == 403
    assert resolved["decision"] == "keep_separate" and resolved["resolved_by"] == "staff:hr" and resolved["leaver"] is None
    assert [s.employee_id for s in identity.alumni.alumni["alm_1"].stints] == ["E-A", "E-C"]
    assert [s.employee_id for s in identity.alumni.alumni["alm_2"].stints] == ["E-B"]
    assert identity.alumni.reviews["rev_1"].completed is None  # a resolved review keeps ids and the decision only


async def test_a_merge_into_an_erased_record_is_refused() -> None:
    identity = Identity()
    await a_leaver_types_someone_elses_address(identity)
    await identity.handle(completed("E-B", hris_email=ADDRESS))
    async with identity.http as http:
        assert (await http.delete("/alumni/alm_1", headers=identity.admin)).status_code == 200
        refused = await http.post("/merge-reviews/rev_1/resolution", json={"decision": "merge"}, headers=identity.admin)
        kept = await http.post("/merge-reviews/rev_1/resolution", json={"decision": "keep_separate"}, headers=identity.admin)
    assert refused.status_code == 409 and "erased" in refused.json()["detail"] and kept.status_code == 200
    assert identity.alumni.confirmations == {k: c for k, c in identity.alumni.confirmations.items() if c.alumnus_id != "alm_1"}


async def test_exit_form_answers_of_a_leaver_under_review_wait_with_them() -> None:
    identity = Identity()
    await a_leaver_types_someone_elses_address(identity)
    await identity.handle(completed("E-B", hris_email=ADDRESS))
    await identity.handle(ExitFormSubmitted.model_validate({
        "case_id": "E-B/2019-01-01", "employee_id": "E-B", "hire_date": "2019-01-01", "submitted_at": "2026-11-23T10:00:00Z",
        "profile": {"skills": ["Go"], "consents": {"events": True}},
    }))
    async with identity.http as http:
        await http.post("/merge-reviews/rev_1/resolution", json={"decision": "keep_separate"}, headers=identity.admin)
    assert identity.alumni.alumni["alm_2"].profile.skills == ["Go"]


@pytest.mark.parametrize(
    "token",
    ["forged-token", "x" * 5000, "é" * 10, CONFIRMATION_LINKS.tokens.token("a-link-never-issued")],
    ids=["forged", "oversized", "not ascii", "well made for an unknown link"],
)
async def test_a_link_that_is_not_ours_is_404_and_changes_nothing(token: str) -> None:
    identity = Identity()
    await identity.handle(completed("E-1", hris_email=ADDRESS))
    async with identity.http as http:
        shown = await http.get(f"/email-confirmation/{token}")
        posted = await http.post(f"/email-confirmation/{token}", json={})
    assert shown.status_code == 404 and posted.status_code == 404 and posted.json() == {"detail": "this link is not known"}
    assert not identity.alumni.alumni["alm_1"].personal_email_verified and identity.published(EmailConfirmed) == []


async def test_a_used_an_expired_and_a_superseded_link_are_410() -> None:
    identity = Identity()
    await identity.handle(completed("E-1", hris_email=ADDRESS))
    await identity.handle(completed("E-2", hris_email="c@home.example"))
    first, second = identity.published(EmailConfirmationRequested)
    async with identity.http as http:
        assert (await http.post(identity.link(first), json={})).status_code == 200
        replayed = await http.post(identity.link(first), json={})
        assert replayed.status_code == 410 and "used already" in replayed.json()["detail"]
        identity.now = START + timedelta(days=8)
        expired = await http.get(identity.link(second))
        assert expired.status_code == 410 and "expiré" in expired.text
        identity.now = START
        changed = await http.patch("/alumni/alm_2", json={"personal_email": "d@home.example"}, headers=identity.admin)
        assert changed.status_code == 200 and changed.json()["personal_email_verified"] is False
        superseded = await http.post(identity.link(second), json={})
        assert superseded.status_code == 410 and "changed" in superseded.json()["detail"]
        third = identity.published(EmailConfirmationRequested)[-1]
        assert str(third.email) == "d@home.example" and third.alumnus_id == "alm_2"
        again = await http.post("/alumni/alm_2/email-confirmation", headers=identity.admin)
        assert again.status_code == 202 and len(identity.published(EmailConfirmationRequested)) == 4
        verified = await http.post("/alumni/alm_1/email-confirmation", headers=identity.admin)
        assert verified.status_code == 409
    assert not identity.alumni.alumni["alm_2"].personal_email_verified


async def test_a_boomerang_bringing_a_new_address_loses_the_verification() -> None:
    identity = Identity()
    await identity.handle(completed("E-1", hris_email=ADDRESS))
    identity.alumni.alumni["alm_1"].personal_email_verified = True
    await identity.handle(completed("E-1", "2024-01-01", hris_email="new@home.example"))
    record = identity.alumni.alumni["alm_1"]
    assert str(record.profile.personal_email) == "new@home.example" and not record.personal_email_verified
    assert str(identity.published(EmailConfirmationRequested)[-1].email) == "new@home.example"
