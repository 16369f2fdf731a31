"""Inbound contract written by HRIS connectors (fixed by the architecture brief)."""


from pydantic import model_validator

from shared.events.base import Event, event_type
from shared.events.people import Language, Name, PersonalContact, Position, WorkContact
from shared.events.types import Day, DepartureReason, Identifier, NonEmpty


@event_type("com.alumni.employee.departed.v1", topic="hris.employee.departed", key="employee_id")
class EmployeeDeparted(Event, Language, Position, PersonalContact, WorkContact, Name):
    """An employee leaves, or has left, the company. Departures may be future-dated."""

    employee_id: Identifier
    hire_date: Day
    departure_date: Day
    departure_reason: DepartureReason
    rehire_eligible: bool | None = None
    litigation_pending: bool = False

    @model_validator(mode="after")
    def _departure_not_before_hire(self) -> "EmployeeDeparted":
        if self.departure_date < self.hire_date:
            raise ValueError("departure_date is before hire_date")
        return self


@event_type(
    "com.alumni.employee.departure-cancelled.v1", topic="hris.employee.departure-cancelled", key="employee_id"
)
class EmployeeDepartureCancelled(Event):
    """A departure is cancelled, e.g. a rescinded resignation. `hire_date` or `departure_date`
    (optional, added to v1: readers ignore unknown fields) names the stint, for an employee who
    left more than once; without either, only a departure not completed yet is cancelled."""

    employee_id: Identifier
    reason: NonEmpty | None = None
    hire_date: Day | None = None
    departure_date: Day | None = None
