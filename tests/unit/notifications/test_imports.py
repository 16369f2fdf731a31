"""An import's alumni in the projection of reachable alumni: applied as registrations are, many
at a time, in version order, never over an erasure, and with no message planned (historic
leavers get no welcome)."""

from shared.events.types import Purpose
from tests.unit.notifications.events import erased, imported, registered, updated
from tests.unit.notifications.fakes import InMemoryNotifications


async def test_an_imports_alumni_are_projected_in_one_write_and_told_nothing() -> None:
    service = InMemoryNotifications()
    chunk = imported(registered("alm_1"), registered("alm_2", locale="fr"), registered("alm_3", consents={"events": True}))
    writes = service.reachable.writes

    assert await service.receive(chunk) == "handled"
    assert service.requests == [] and service.published() == []
    assert service.reachable.writes - writes == 1
    assert {i: (a.email, a.contact.locale, a.contact_version) for i, a in service.store.alumni.items()} == {
        "alm_1": ("alm_1@home.example", "en", 1), "alm_2": ("alm_2@home.example", "fr", 1), "alm_3": ("alm_3@home.example", "en", 1)}
    assert service.store.alumni["alm_3"].consents == {Purpose.EVENTS: True}


async def test_an_import_keeps_version_order_and_never_brings_back_the_erased() -> None:
    service = InMemoryNotifications()
    await service.receive(registered("alm_1"))
    await service.receive(updated("alm_1", 3, first_name="Newer"))
    await service.receive(registered("alm_2"))
    await service.receive(erased("alm_2"))

    await service.receive(imported(registered("alm_1", version=2, first_name="Older"), registered("alm_2", version=3),
                                   registered("alm_4", version=1), registered("alm_4", version=2, city="Lyon")))

    assert service.store.alumni["alm_1"].contact.first_name == "Newer"
    assert service.store.alumni["alm_2"].erased and service.store.alumni["alm_4"].contact_version == 2
    # The welcomes of the two live registrations, before; none for the import.
    assert [(r.template, r.recipient_id) for r in service.requests if r.recipient_kind == "alumnus"] == [
        ("welcome", "alm_1"), ("welcome", "alm_2")]
