"""The inbound contract is exactly the one the architecture brief fixes for HRIS connectors."""

from datetime import date

import pytest
from pydantic import ValidationError

from shared.events.hris import EmployeeDeparted, EmployeeDepartureCancelled
from shared.events.types import DepartureReason

DEPARTURE = {
    "employee_id": "E-1001",
    "first_name": "Élodie",
    "last_name": "Martin",
    "work_email": "elodie.martin@example.com",
    "hire_date": "2019-03-01",
    "departure_date": "2026-11-30",
    "departure_reason": "resignation",
}


def test_departed_has_exactly_the_contract_fields() -> None:
    # A JSON object's members have no order: the contract is the set of fields.
    assert set(EmployeeDeparted.model_fields) == {
        "employee_id", "first_name", "last_name", "work_email", "personal_email", "phone", "department",
        "job_title", "country", "city", "hire_date", "departure_date", "departure_reason", "rehire_eligible",
        "litigation_pending", "locale",
    }
    required = {name for name, f in EmployeeDeparted.model_fields.items() if f.is_required()}
    assert required == {"employee_id", "first_name", "last_name", "work_email", "hire_date", "departure_date", "departure_reason"}
    assert {r.value for r in DepartureReason} == {
        "resignation", "retirement", "layoff", "end_of_contract", "mutual_agreement", "termination_for_cause", "other",
    }
    assert EmployeeDeparted.event_type.type == "com.alumni.employee.departed.v1"
    assert (EmployeeDeparted.event_type.topic, EmployeeDeparted.event_type.key) == ("hris.employee.departed", "employee_id")


def test_departed_defaults_and_unknown_fields() -> None:
    event = EmployeeDeparted.model_validate(DEPARTURE | {"badge_colour": "blue"})
    assert (event.litigation_pending, event.locale.value, event.rehire_eligible) == (False, "en", None)
    assert event.hire_date == date(2019, 3, 1)
    assert event.key == "E-1001"
    assert "badge_colour" not in event.model_dump()


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"departure_date": "2019-02-28"}, "departure_date is before hire_date"),
        ({"departure_reason": "fired"}, "departure_reason"),
        ({"locale": "de"}, "locale"),
        ({"phone": "06 12 34 56 78"}, "phone"),
        ({"country": "XX"}, "country"),
        ({"work_email": "not-an-email"}, "work_email"),
        ({"employee_id": "  "}, "employee_id"),
    ],
)
def test_departed_rejects_what_breaks_the_contract(change: dict, field: str) -> None:
    with pytest.raises(ValidationError) as error:
        EmployeeDeparted.model_validate(DEPARTURE | change)
    assert field in str(error.value)


def test_departed_accepts_e164_and_normalises_the_country() -> None:
    event = EmployeeDeparted.model_validate(DEPARTURE | {"phone": "+33612345678", "country": "fr", "locale": "fr"})
    assert (event.phone, event.country, event.locale.value) == ("+33612345678", "FR", "fr")


def test_cancelled_contract() -> None:
    # The brief's two fields, and two optional ones added since (naming the stint): not breaking.
    assert list(EmployeeDepartureCancelled.model_fields) == ["employee_id", "reason", "hire_date", "departure_date"]
    assert EmployeeDepartureCancelled.event_type.type == "com.alumni.employee.departure-cancelled.v1"
    brief = EmployeeDepartureCancelled.model_validate({"employee_id": "E-1"})
    assert (brief.reason, brief.hire_date, brief.departure_date) == (None, None, None)
    dated = EmployeeDepartureCancelled.model_validate({"employee_id": "E-1", "departure_date": "2026-11-20", "unheard_of": 1})
    assert dated.departure_date.isoformat() == "2026-11-20"  # unknown fields ignored
    with pytest.raises(ValidationError):
        EmployeeDepartureCancelled.model_validate({"employee_id": "E-1", "hire_date": "9999-01-01"})
