"""An import's alumni in the referrers' projection: applied as registrations are, many at a
time, in version order, never over an erasure."""

from shared.events import Event
from shared.events.alumni import AlumniImported, ImportedAlumnus
from tests.unit.referrals.events import erased, registered, updated
from tests.unit.referrals.fakes import Referrals


def imported(*alumni) -> AlumniImported:
    return AlumniImported(import_id="import-0001", batch=0, alumni=[ImportedAlumnus.of(a) for a in alumni])


async def test_an_imports_alumni_may_refer_and_the_projection_keeps_its_order() -> None:
    referrals = Referrals()
    await referrals.handle(updated("alm_1", email="newer@home.example", version=3))
    await referrals.handle(registered("alm_2"))
    await referrals.handle(erased("alm_2", version=2))

    await referrals.handle(imported(registered("alm_1", email="older@home.example", version=2), registered("alm_2", version=3),
                                    registered("alm_3", email="a@home.example"), registered("alm_3", email="b@home.example", version=2)))

    people = referrals.store.referrers
    assert people["alm_1"].email == "newer@home.example" and people["alm_2"].erased_at is not None
    assert (people["alm_3"].email, people["alm_3"].version, people["alm_3"].active) == ("b@home.example", 2, True)
    assert referrals.published(Event) == []
