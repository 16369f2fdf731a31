"""What notifications holds about a person, for the GDPR export: the projection, RSVPs and the
deliveries to the alumnus, and (by employee id) those to the leaver before they were one."""

from services.notifications.api import personal_data
from shared.web.personal_data import PersonalDataQuery
from tests.unit.notifications.events import invited, registered, rsvp
from tests.unit.notifications.fakes import InMemoryNotifications


async def test_the_projection_rsvps_and_deliveries_of_the_alumnus_are_gathered() -> None:
    service = InMemoryNotifications()
    await service.receive(registered("alm_1", first_name="Anaïs"))
    await service.receive(registered("alm_2"))
    await service.receive(rsvp("evt_1", "alm_1", "yes"))
    await service.deliver()
    gather = personal_data(service.deps)

    held = await service.transactions.run(lambda uow: gather(uow, PersonalDataQuery("alm_1", ())))
    assert held["reachable_alumnus"]["alumnus_id"] == "alm_1"
    assert held["rsvps"] == [{"event_id": "evt_1", "alumnus_id": "alm_1", "response": "yes"}]
    # An answer is confirmed from engagement's RsvpConfirmed, not from RsvpRecorded: no delivery here.
    assert [d["template"] for d in held["deliveries"]] == ["welcome"]
    assert {d["recipient_id"] for d in held["deliveries"]} == {"alm_1"}  # not the HR post, not alm_2's

    assert held["parked_events"] == []
    nobody = await service.transactions.run(lambda uow: gather(uow, PersonalDataQuery(None, ("E-404",))))
    assert nobody == {"reachable_alumnus": None, "rsvps": [], "deliveries": [], "parked_events": []}


async def test_an_event_parked_until_the_alumnus_registers_here_is_in_their_export() -> None:
    service = InMemoryNotifications()
    await service.receive(registered("alm_1", consents={"events": True}))
    assert await service.receive(invited("evt_1", ["alm_1", "alm_late"])) == "parked"
    gather = personal_data(service.deps)

    [parked] = (await service.transactions.run(lambda uow: gather(uow, PersonalDataQuery("alm_late", ()))))["parked_events"]
    assert parked["event_type"] == "com.alumni.event.invitations-issued.v1" and "alm_late" in parked["reason"]
    assert parked["payload"]["alumnus_ids"] == ["alm_1", "alm_late"]
    # Not the export of an alumnus it does not wait for.
    assert (await service.transactions.run(lambda uow: gather(uow, PersonalDataQuery("alm_1", ()))))["parked_events"] == []
