"""The projection of alumni (version order, tombstones) and audience matching, in memory."""

from services.engagement.audience import Audience
from tests.unit.engagement.events import consent, erased, registered, updated
from tests.unit.engagement.fakes import Engagement


async def test_the_projection_applies_changes_in_version_order_and_keeps_no_name_or_address() -> None:
    service = Engagement()
    await service.receive(registered("alm_1", country="FR", department="Finance", personal_email="ines@home.example"))
    await service.receive(updated("alm_1", 3, country="DE", department="Sales"))
    await service.receive(updated("alm_1", 2, country="IT"))  # stale: arrives late
    await service.receive(consent("alm_1", 4, False))
    await service.receive(consent("alm_1", 1, True))  # stale
    alumnus = service.store.alumni["alm_1"]
    assert (alumnus.country, alumnus.department, alumnus.consents["events"]) == ("DE", "sales", False)
    assert "ines" not in repr(alumnus) and "Moreau" not in repr(alumnus)


async def test_a_boomerang_adds_its_departure_year_and_flag() -> None:
    service = Engagement()
    await service.receive(registered("alm_1", left=2018))
    await service.receive(registered("alm_1", version=2, left=2025, boomerang=True))
    alumnus = service.store.alumni["alm_1"]
    assert alumnus.departure_years == (2018, 2025) and alumnus.boomerang


async def test_an_erased_alumnus_is_a_tombstone_that_no_late_event_brings_back() -> None:
    service = Engagement()
    await service.receive(registered("alm_1", country="FR"))
    await service.receive(erased("alm_1"))
    await service.receive(registered("alm_1", version=20, country="FR"))
    await service.receive(updated("alm_1", 21, country="FR"))
    await service.receive(consent("alm_1", 22, True))
    alumnus = service.store.alumni["alm_1"]
    assert alumnus.erased and alumnus.country is None and alumnus.consents == {}
    assert not Audience.of().invites(alumnus) and not Audience.of().includes(alumnus)


async def test_an_audience_holds_each_criterion_given_without_case_for_words() -> None:
    service = Engagement()
    await service.receive(registered("alm_1", country="FR", department="Finance", skills=["SQL", "Python"], willing_to=["mentor"], left=2020))
    alumnus = service.store.alumni["alm_1"]
    assert Audience.of(countries=["fr"], departments=["FINANCE"], skills=["sql"], departure_years=[2020], willing_to=["mentor"]).includes(alumnus)
    for other in (Audience.of(countries=["DE"]), Audience.of(departments=["Sales"]), Audience.of(skills=["Go"]),
                  Audience.of(departure_years=[2021]), Audience.of(willing_to=["refer_clients"]), Audience.of(boomerangs_only=True)):
        assert not other.includes(alumnus), other
