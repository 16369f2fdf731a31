"""Identity's and the ATS's events as the referrals service receives them."""

from datetime import date, datetime

from shared.events.alumni import AlumnusErased, AlumnusProfile, AlumnusRegistered, AlumnusUpdated, Stint
from shared.events.referrals import ApplicationStatusChanged

from tests.unit.referrals.fakes import NOW


def registered(alumnus_id: str = "alm_1", email: str | None = "jules@home.example", version: int = 1) -> AlumnusRegistered:
    return AlumnusRegistered(
        alumnus_id=alumnus_id, version=version, boomerang=False,
        stint=Stint(employee_id=f"E-{alumnus_id}", hire_date=date(2020, 1, 6), departure_date=date(2026, 11, 20)),
        profile=AlumnusProfile(first_name="Jules", last_name="Lefèvre", personal_email=email),
    )


def updated(alumnus_id: str = "alm_1", email: str | None = "jules@new.example", version: int = 2) -> AlumnusUpdated:
    return AlumnusUpdated(alumnus_id=alumnus_id, version=version, changed=["personal_email"],
                          profile=AlumnusProfile(first_name="Jules", last_name="Lefèvre", personal_email=email))


def erased(alumnus_id: str = "alm_1", version: int = 3) -> AlumnusErased:
    return AlumnusErased(alumnus_id=alumnus_id, employee_ids=[f"E-{alumnus_id}"], version=version, erased_at=NOW)


def application(status: str, *, application_id: str = "app-1", referral_id: str | None = None, email: str | None = None,
                at: datetime = NOW, employee_id: str | None = None) -> ApplicationStatusChanged:
    return ApplicationStatusChanged(application_id=application_id, referral_id=referral_id, candidate_email=email,
                                    status=status, changed_at=at, employee_id=employee_id)


def candidate(**fields) -> dict:
    return {"kind": "candidate", "candidate_name": "Hugo Lambert", "candidate_email": "hugo@example.org",
            "position": "Data engineer", "candidate_consent": True} | fields


def client(**fields) -> dict:
    return {"kind": "client", "company": "Acme SAS", "contact_name": "Nora Petit", "opportunity": "Data platform",
            "estimated_value": {"amount": "120000", "currency": "EUR"}} | fields
