"""Planning over in-memory projections: who receives what when an event arrives, and the
projection of reachable alumni kept in version order. The same flows on the real broker,
database, SMTP server and webhook receiver: tests/integration/notifications."""

from services.notifications.domain import Planning, ReachableAlumnus, delivery_id, Recipient
from services.notifications.routing import load_routes
from shared.events.notifications import BulkEmailRequested, ChatPostRequested, EmailRequested
from shared.events.offboarding import OffboardingCompleted
from shared.events.referrals import AlumnusReferred
from shared.events.types import Purpose
from shared.testing.fakes import envelope_for
from tests.unit.notifications.events import cancelled, consent_changed, erased, hosted, invited, registered, rsvp, updated
from tests.unit.notifications.fakes import CHANNELS, InMemoryNotifications


def emails(service: InMemoryNotifications, template: str) -> list[tuple[str, str, str]]:
    return [(r.recipient_id, r.address, r.locale.value) for r in service.requests if r.template == template]


async def test_a_registration_plans_a_welcome_in_the_alumnus_locale_and_an_hr_post() -> None:
    service = InMemoryNotifications()
    assert await service.receive(registered("alm_1", locale="fr")) == "handled"

    welcome, post = sorted(service.requests, key=lambda r: r.channel)
    assert isinstance(welcome, EmailRequested) and welcome.template == "welcome" and welcome.purpose is None
    assert (welcome.recipient_id, welcome.address, welcome.locale.value) == ("alm_1", "alm_1@home.example", "fr")
    assert welcome.context["recipient"] == {"first_name": "Inès", "last_name": "Moreau", "locale": "fr"}
    assert isinstance(post, ChatPostRequested) and (post.template, post.address, post.channel) == ("hr_new_alumnus", "hr", "slack")
    assert [service.status(r)["status"] for r in service.requests] == ["planned", "planned"]
    # One read and one write of the projection; the welcome is planned from what was just written.
    assert (service.reachable.reads, service.reachable.writes) == (1, 1)


async def test_invitations_go_to_the_alumni_engagement_names_who_still_consent_never_to_the_erased() -> None:
    service = InMemoryNotifications()
    for alumnus_id, consents in [("alm_yes", {"events": True}), ("alm_no", {"events": False}), ("alm_erased", {"events": True})]:
        await service.receive(registered(alumnus_id, consents=consents))
    await service.receive(erased("alm_erased"))

    await service.receive(hosted("evt_1"))  # the announcement: a community post, no email
    reads = service.reachable.reads
    await service.receive(invited("evt_1", ["alm_yes", "alm_no", "alm_erased"]))
    assert service.reachable.reads == reads + 1  # a chunk of alumni is one read of the projection

    invitations = [r for r in service.requests if r.template == "event_invitation"]
    assert all(isinstance(r, BulkEmailRequested) and r.purpose is Purpose.EVENTS for r in invitations)
    assert [(r.context["event"]["event_id"], r.recipient_id) for r in invitations] == [("evt_1", "alm_yes")]
    assert len([r for r in service.requests if r.template == "community_event"]) == 1


async def test_invitations_naming_an_alumnus_not_yet_registered_here_wait_for_the_registration() -> None:
    """Engagement can be ahead of this service: an invitation to an alumnus whose registration
    it has not read yet is parked, not lost, and planned for every named alumnus once it is read."""
    service = InMemoryNotifications()
    await service.receive(registered("alm_known", consents={"events": True}))
    assert await service.receive(invited("evt_1", ["alm_known", "alm_late"])) == "parked"
    assert emails(service, "event_invitation") == []
    assert await service.recheck(after=5) == {"waiting": 1}  # still unknown: checked again later

    await service.receive(registered("alm_late", consents={"events": True}))
    assert await service.recheck(after=10) == {"handled": 1}
    assert sorted(r for r, _, _ in emails(service, "event_invitation")) == ["alm_known", "alm_late"]
    assert await service.recheck(after=60) == {}  # handled once: nothing waits any more


async def test_the_registration_of_an_alumnus_a_parked_event_waits_for_makes_it_due_at_once() -> None:
    """A parked invitation is keyed by its hosted event, not by the alumni: it names those it
    waits for, and the registration of one of them here checks it at once, not at its backoff."""
    service = InMemoryNotifications()
    await service.receive(registered("alm_known", consents={"events": True}))
    assert await service.receive(invited("evt_1", ["alm_known", "alm_late", "alm_later"])) == "parked"
    [parked] = service.parked.store.parked.values()
    assert sorted(parked.waiting_for) == ["alm_late", "alm_later"]
    await service.receive(registered("alm_other"))
    assert await service.recheck(after=0) == {}  # not one it waits for: it stays at its backoff

    await service.receive(registered("alm_late", consents={"events": True}))
    assert await service.recheck(after=0) == {"waiting": 1}  # checked at once: one is still unknown
    assert [p.waiting_for for p in service.parked.store.parked.values()] == [["alm_later"]]
    await service.receive(registered("alm_later", consents={"events": True}))
    assert await service.recheck(after=0) == {"handled": 1}
    assert sorted(r for r, _, _ in emails(service, "event_invitation")) == ["alm_known", "alm_late", "alm_later"]


async def test_the_erasure_of_an_alumnus_a_parked_event_waits_for_releases_it_for_the_others() -> None:
    service = InMemoryNotifications()
    await service.receive(registered("alm_known", consents={"events": True}))
    assert await service.receive(invited("evt_1", ["alm_known", "alm_gone"])) == "parked"
    await service.receive(erased("alm_gone"))
    assert await service.recheck(after=0) == {"handled": 1}  # at once: an erased alumnus is known, and gets nothing
    assert [r for r, _, _ in emails(service, "event_invitation")] == ["alm_known"]
    assert service.parked.store.parked == {}


async def test_a_consent_change_read_before_the_registration_does_not_make_the_alumnus_known() -> None:
    """Consent changes travel on a topic of their own: one read first leaves a record with no
    address, and the invitation waits for the registration rather than skip the alumnus."""
    service = InMemoryNotifications()
    await service.receive(consent_changed("alm_early", 2, "events", True))
    assert await service.receive(invited("evt_1", ["alm_early"])) == "parked"
    await service.receive(registered("alm_early", consents={"events": True}))
    assert await service.recheck(after=5) == {"handled": 1}
    assert [r for r, _, _ in emails(service, "event_invitation")] == ["alm_early"]


async def test_an_event_naming_an_alumnus_never_registered_is_dead_lettered_after_the_wait_and_the_others_get_it() -> None:
    """A forged id, or a registration older than the topic's retention, waits at most the
    parked events' bound; then the record reaches the dead-letter topic with a reason that
    names ids, never personal data, and the alumni who are known still get their message."""
    service = InMemoryNotifications()
    await service.receive(registered("alm_known", consents={"events": True}))
    assert await service.receive(invited("evt_1", ["alm_known", "alm_nobody"])) == "parked"
    for _ in range(70):
        if await service.recheck(after=60) == {"dead_letter": 1}:
            break
    else:
        raise AssertionError("the event waited past its bound")
    [(error_class, reason, _)] = service.dead_letters.letters
    assert error_class == "RecipientsNotYetKnown" and "alm_nobody" in reason and "still waiting" in reason
    assert "@" not in reason
    assert [r for r, _, _ in emails(service, "event_invitation")] == ["alm_known"]


async def test_an_event_that_cannot_wait_because_too_many_wait_is_dead_lettered_and_the_known_alumni_get_it() -> None:
    """A flood of events waiting for nothing fills the parked events' bound: the next one is
    dead-lettered at once, not lost for the alumni who are known here."""
    service = InMemoryNotifications()
    await service.receive(registered("alm_known", consents={"events": True}))
    service.parked.max_parked = 0
    assert await service.receive(invited("evt_1", ["alm_known", "alm_late"])) == "dead_letter"
    [(error_class, _, _)] = service.dead_letters.letters
    assert error_class == "TooManyWaiting"
    assert [r for r, _, _ in emails(service, "event_invitation")] == ["alm_known"]


async def test_a_cancellation_goes_to_those_who_answered_yes_or_maybe() -> None:
    service = InMemoryNotifications()
    for alumnus_id in ("alm_yes", "alm_maybe", "alm_no", "alm_erased", "alm_other_event"):
        await service.receive(registered(alumnus_id))
    for alumnus_id, response in (("alm_yes", "yes"), ("alm_maybe", "maybe"), ("alm_no", "no"), ("alm_erased", "yes")):
        await service.receive(rsvp("evt_1", alumnus_id, response))
    await service.receive(rsvp("evt_2", "alm_other_event", "yes"))
    await service.receive(erased("alm_erased"))

    await service.receive(cancelled("evt_1"))

    assert sorted(r for r, _, _ in emails(service, "event_cancelled")) == ["alm_maybe", "alm_yes"]
    # An answer is confirmed from what engagement made of it (rsvp-confirmed), not from the answer itself.
    assert emails(service, "rsvp_confirmation") == []


async def test_a_route_to_an_unconfigured_chat_channel_plans_nothing() -> None:
    service = InMemoryNotifications(channels={})
    await service.receive(registered("alm_1"))
    completed = OffboardingCompleted.model_validate({
        "case_id": "E-1/2019-01-07", "employee_id": "E-1", "hire_date": "2019-01-07", "departure_date": "2026-11-20",
        "departure_reason": "resignation", "outcome": "excluded", "exclusion_reason": "litigation",
    })
    assert await service.receive(completed) == "skipped"  # its only route is the HR post

    assert [(r.template, r.channel) for r in service.requests] == [("welcome", "email")]


async def test_a_repeated_event_plans_the_same_deliveries_once() -> None:
    service = InMemoryNotifications()
    await service.receive(registered("alm_1"))
    submitted = AlumnusReferred.model_validate({
        "referral_id": "ref_1", "alumnus_id": "alm_1", "kind": "candidate", "referred_name": "Hugo Lambert",
        "position": "Data engineer", "submitted_at": "2026-11-22T09:00:00Z",
    })
    envelope = envelope_for(submitted)
    assert await service.receive(submitted, envelope) == "handled"
    planned = {r.delivery_id for r in service.requests}
    assert await service.receive(submitted, envelope) == "repeat"
    assert {r.delivery_id for r in service.requests} == planned and len(service.requests) == len(planned) == 4

    # The ids derive from (source, event id, recipient, channel): planning again gives the same.
    planning = Planning(load_routes(), CHANNELS)
    [route] = [r for r in planning.routes_for(submitted.event_type.type) if r.audience == "alumnus"]
    alumnus = service.store.alumni["alm_1"]
    payload = submitted.model_dump(mode="json")
    first, again = (planning.requests(route, envelope.source, envelope.id, payload, [alumnus]) for _ in range(2))
    assert [r.delivery_id for r in first] == [r.delivery_id for r in again]
    assert first[0].delivery_id in planned
    other = planning.requests(route, envelope.source, "another-event", payload, [alumnus])
    assert other[0].delivery_id != first[0].delivery_id


def test_a_delivery_id_tells_recipients_and_channels_apart() -> None:
    alumnus = Recipient("alumnus", "alm_1", "a@home.example", "en")
    team = Recipient("team_channel", "hr", "hr", "en", channel="slack")
    ids = {delivery_id("/s", "e-1", alumnus, "email"), delivery_id("/s", "e-1", team, "chat"), delivery_id("/t", "e-1", alumnus, "email")}
    assert len(ids) == 3


async def test_a_stale_profile_change_after_a_newer_one_changes_nothing() -> None:
    service = InMemoryNotifications()
    await service.receive(registered("alm_1", locale="en"))
    await service.receive(updated("alm_1", 3, first_name="Newest", locale="fr"))
    await service.receive(updated("alm_1", 2, first_name="Older"))
    await service.receive(registered("alm_1", version=1, first_name="Oldest"))  # a late repeat of the registration

    contact = service.store.alumni["alm_1"].contact
    assert (contact.first_name, contact.locale, service.store.alumni["alm_1"].contact_version) == ("Newest", "fr", 3)


async def test_consents_keep_their_own_versions_whatever_the_order_of_arrival() -> None:
    service = InMemoryNotifications()
    await service.receive(consent_changed("alm_1", 2, "events", False))  # before the registration, on another topic
    await service.receive(registered("alm_1", version=1, consents={"events": True, "newsletter": True}))
    await service.receive(updated("alm_1", 3, city="Lyon"))

    alumnus = service.store.alumni["alm_1"]
    assert alumnus.consents == {Purpose.EVENTS: False, Purpose.NEWSLETTER: True}
    assert alumnus.contact.first_name == "Inès"


async def test_an_erased_alumnus_never_comes_back_through_a_late_event() -> None:
    service = InMemoryNotifications()
    await service.receive(registered("alm_1", consents={"events": True}))
    await service.receive(rsvp("evt_1", "alm_1", "yes"))
    await service.receive(erased("alm_1"))
    before = len(service.requests)

    await service.receive(registered("alm_1", version=1))  # late, under another event id
    await service.receive(updated("alm_1", 5, first_name="Ghost"))
    await service.receive(consent_changed("alm_1", 6, "events", True))
    await service.receive(rsvp("evt_1", "alm_1", "yes"))
    await service.receive(hosted("evt_2"))

    assert service.store.alumni["alm_1"] == ReachableAlumnus.tombstone("alm_1", erased("alm_1").erased_at)
    # Nothing to them; the teams' posts (the late registration's HR post too) name no address.
    assert [(r.template, r.recipient_kind) for r in service.requests[before:]] == [
        ("hr_new_alumnus", "team_channel"), ("community_event", "community_channel"),
    ]
