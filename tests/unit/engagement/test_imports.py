"""An import's alumni in the projection audiences are chosen by: applied as registrations are,
many at a time, in version order, never over an erasure."""

from shared.events.alumni import AlumniImported, ImportedAlumnus
from tests.unit.engagement.events import erased, registered, updated
from tests.unit.engagement.fakes import Engagement


def imported(*alumni) -> AlumniImported:
    return AlumniImported(import_id="import-0001", batch=0, alumni=[ImportedAlumnus.of(a) for a in alumni])


async def test_an_imports_alumni_are_known_to_audiences_with_no_consent_unless_given() -> None:
    engagement = Engagement()
    await engagement.receive(updated("alm_1", 3, country="DE"))
    await engagement.receive(registered("alm_2"))
    await engagement.receive(erased("alm_2"))

    await engagement.receive(imported(registered("alm_1", version=2, country="FR"), registered("alm_2", version=3),
                                      registered("alm_3", events=False, country="FR", left=2012),
                                      registered("alm_3", version=2, events=False, left=2019, boomerang=True)))

    alumni = engagement.store.alumni
    assert alumni["alm_1"].country == "DE" and alumni["alm_2"].erased
    assert (alumni["alm_3"].departure_years, alumni["alm_3"].boomerang, alumni["alm_3"].invitable) == ((2012, 2019), True, False)
