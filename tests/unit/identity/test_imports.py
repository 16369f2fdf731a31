"""Identity's side of an import of historic leavers, over in-memory repositories: each chunk
becomes alumni by identity's rules (new, boomerang by employee id or trusted email, known,
erased, reviewed), announced in one `AlumniImported` with no consent, no confirmation link and
no welcome. The same on the real stack: tests/integration/imports/."""

from datetime import date

from shared.events.alumni import AlumniImported, AlumnusRegistered, EmailConfirmationRequested, MergeReviewOpened
from shared.events.offboarding import LeaversImported
from tests.unit.identity.fakes import ERASURE_KEYS
from tests.unit.identity.test_email_trust import Identity
from tests.unit.identity.test_handlers import completed


def chunk(*leavers: dict, import_id: str = "import-0001", batch: int = 0) -> LeaversImported:
    return LeaversImported.model_validate({"import_id": import_id, "batch": batch, "leavers": list(leavers)})


def leaver(employee_id: str, hire: str = "2012-01-01", left: str = "2018-06-30", email: str | None = None) -> dict:
    return {"employee_id": employee_id, "hire_date": hire, "departure_date": left, "departure_reason": "resignation",
            "leaver": {"first_name": "Inès", "last_name": "Moreau", "work_email": f"{employee_id}@acme.example", "locale": "fr",
                       "personal_email": email or f"{employee_id.lower()}@home.example", "country": "FR"}}


async def test_a_chunk_becomes_alumni_with_no_consent_no_link_and_no_welcome() -> None:
    identity = Identity()
    await identity.handle(chunk(leaver("E-1"), leaver("E-2"), leaver("E-1", hire="2019-01-01", left="2021-01-31")))

    [imported] = identity.transactions.events
    assert isinstance(imported, AlumniImported) and (imported.import_id, imported.batch) == ("import-0001", 0)
    assert [(a.alumnus_id, a.version, a.boomerang, a.stint.hire_date) for a in imported.alumni] == [
        ("alm_1", 1, False, date(2012, 1, 1)), ("alm_2", 1, False, date(2012, 1, 1)), ("alm_1", 2, True, date(2019, 1, 1))]
    assert all(a.consents == {} for a in imported.alumni) and identity.alumni.ledger == []
    alumnus = identity.alumni.alumni["alm_1"]
    assert [s.hire_date for s in alumnus.stints] == [date(2012, 1, 1), date(2019, 1, 1)] and not alumnus.personal_email_verified
    assert alumnus.profile.personal_email == "e-1@home.example" and alumnus.profile.country == "FR"
    assert identity.alumni.confirmations == {}


async def test_identitys_rules_decide_who_is_known_merged_reviewed_or_refused() -> None:
    identity = Identity()
    await identity.handle(completed("E-LIVE", hire="2015-01-01", hris_email="live@home.example"))  # an alumnus already
    [requested] = identity.published(EmailConfirmationRequested)
    async with identity.http as http:
        assert (await http.post(identity.link(requested))).status_code == 200  # its owner confirmed the address
    await identity.handle(completed("E-TYPED", hire="2015-01-01", personal_email="typed@home.example"))  # an unconfirmed address
    await identity.alumni.erased_people.remember([ERASURE_KEYS.of_stint("E-GONE", date(2012, 1, 1))], identity.now)
    before = len(identity.transactions.events)

    await identity.handle(chunk(
        leaver("E-LIVE", hire="2015-01-01"),  # the stint is known
        leaver("E-LIVE", hire="2008-01-01", left="2012-12-31", email="old@home.example"),  # an earlier stint of the same id
        leaver("E-NEWID", email="live@home.example"),  # under another id, the confirmed address: merged
        leaver("E-OTHER", email="typed@home.example"),  # an address no one confirmed: HR reviews
        leaver("E-GONE"),  # erased with their alumnus
    ))

    events = identity.transactions.events[before:]
    [imported] = [e for e in events if isinstance(e, AlumniImported)]
    [review] = [e for e in events if isinstance(e, MergeReviewOpened)]
    assert [(a.alumnus_id, a.boomerang, a.stint.employee_id) for a in imported.alumni] == [("alm_1", True, "E-LIVE"), ("alm_1", True, "E-NEWID")]
    assert review.employee_id == "E-OTHER" and review.alumnus_id == "alm_2"
    assert not [e for e in events if isinstance(e, AlumnusRegistered | EmailConfirmationRequested)]
    assert sorted((s.employee_id, s.hire_date.year) for s in identity.alumni.alumni["alm_1"].stints) == [
        ("E-LIVE", 2008), ("E-LIVE", 2015), ("E-NEWID", 2012)]
    assert len(identity.alumni.alumni) == 2
    # An older stint brings no older details: the address confirmed stays, and stays confirmed.
    assert identity.alumni.alumni["alm_1"].profile.personal_email == "live@home.example"
    assert identity.alumni.alumni["alm_1"].personal_email_verified
    [refused] = [p for p in identity.alumni.erased_people.people.values()]
    assert refused["refusals"] == 1


async def test_a_reviewed_leaver_of_an_import_is_announced_as_imported_once_hr_decides() -> None:
    identity = Identity()
    await identity.handle(completed("E-TYPED", personal_email="typed@home.example"))
    await identity.handle(chunk(leaver("E-OTHER", email="typed@home.example")))
    before = len(identity.transactions.events)
    async with identity.http as http:
        kept = await http.post("/merge-reviews/rev_1/resolution", json={"decision": "keep_separate"}, headers=identity.admin)

    assert kept.status_code == 200
    [imported] = identity.transactions.events[before:]
    assert isinstance(imported, AlumniImported) and imported.batch is None and imported.import_id == "import-0001"
    assert [(a.alumnus_id, a.stint.employee_id) for a in imported.alumni] == [(kept.json()["alumnus_id"], "E-OTHER")]


async def test_a_redelivered_chunk_changes_nothing() -> None:
    identity = Identity()
    event = chunk(leaver("E-1"), leaver("E-2"))
    await identity.handle(event)
    # The same chunk under another event id (the platform drops a repeat of the same id first).
    await identity.handle(LeaversImported.model_validate(event.model_dump()))

    assert len(identity.alumni.alumni) == 2
    [first] = identity.transactions.events  # nothing new: nothing announced
    assert len(first.alumni) == 2


async def test_alumni_at_the_contracts_longest_are_announced_in_events_that_fit() -> None:
    identity = Identity()
    longest = "x" * 500
    leavers = [leaver(f"E-{n}") for n in range(300)]
    for item in leavers:
        item["leaver"] |= {"first_name": longest, "last_name": longest, "department": longest, "job_title": longest, "city": longest}
    await identity.handle(chunk(*leavers))

    events = identity.transactions.events
    assert len(events) > 1 and all(len(e.model_dump_json()) < 900_000 for e in events)
    assert sum(len(e.alumni) for e in events) == 300
