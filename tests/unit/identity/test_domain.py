from datetime import UTC, datetime

from services.identity.domain import Alumnus
from shared.events.offboarding import ExitProfile, OffboardingCompleted
from shared.events.types import Purpose

NOW = datetime(2026, 11, 22, 9, tzinfo=UTC)


def completed(employee_id: str = "E-1", hire: str = "2019-01-01", **profile) -> OffboardingCompleted:
    return OffboardingCompleted.model_validate({
        "case_id": f"{employee_id}/{hire}", "employee_id": employee_id, "hire_date": hire, "departure_date": "2026-11-20",
        "departure_reason": "resignation", "outcome": "eligible",
        "leaver": {"first_name": "Inès", "last_name": "Moreau", "work_email": "ines@acme.example", "locale": "fr"},
        "profile": profile,
    })


def test_registration_takes_the_exit_form_consents_but_an_address_typed_there_is_not_verified() -> None:
    alumnus, registered = Alumnus.register(completed(personal_email="ines@home.example", consents={"events": True}), "alm_1", NOW)
    assert registered.boomerang is False and registered.version == 1
    assert not alumnus.personal_email_verified and alumnus.consents_to(Purpose.EVENTS)
    assert [(r.purpose, r.granted, r.source) for r in alumnus.ledger] == [(Purpose.EVENTS, True, "exit-form")]


def test_a_known_stint_is_not_added_twice_and_a_new_one_is_a_boomerang() -> None:
    alumnus, _ = Alumnus.register(completed(), "alm_1", NOW)
    assert alumnus.add_stint(completed(), NOW) is None
    again = alumnus.add_stint(completed(hire="2024-05-01"), NOW)
    assert again.boomerang is True and again.version == 2 and len(alumnus.stints) == 2


def test_changes_that_change_nothing_emit_nothing() -> None:
    alumnus, _ = Alumnus.register(completed(), "alm_1", NOW)
    assert alumnus.update_profile({"first_name": "Inès"}, NOW) is None
    updated = alumnus.update_profile({"city": "Nantes", "linkedin_url": "https://www.linkedin.com/in/ines"}, NOW)
    assert updated.changed == ["city", "linkedin_url"] and updated.version == 2
    assert alumnus.update_profile({"linkedin_url": "https://www.linkedin.com/in/ines"}, NOW) is None
    assert alumnus.set_consent(Purpose.NEWSLETTER, True, "alumnus", NOW).version == 3
    assert alumnus.set_consent(Purpose.NEWSLETTER, True, "alumnus", NOW) is None


def test_a_new_personal_email_is_no_longer_verified_and_erasure_names_every_stint() -> None:
    alumnus, _ = Alumnus.register(completed(personal_email="a@home.example"), "alm_1", NOW)
    alumnus.add_stint(completed(employee_id="E-2", hire="2024-05-01"), NOW)
    alumnus.update_profile({"personal_email": "b@home.example"}, NOW)
    assert not alumnus.personal_email_verified
    erased = alumnus.erase(NOW)
    assert erased.employee_ids == ["E-1", "E-2"] and erased.version == alumnus.version + 1
    assert ExitProfile().consents == {}
