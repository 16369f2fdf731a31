"""Who may join the alumni network: a rule without I/O, configured from settings."""

from dataclasses import dataclass

from shared.events.hris import EmployeeDeparted
from shared.events.types import DepartureReason


@dataclass(frozen=True)
class Decision:
    eligible: bool
    reason: str | None = None  # why excluded


@dataclass(frozen=True)
class EligibilityPolicy:
    """Who may join the alumni network. Configurable; the reason of an exclusion is recorded."""

    excluded_reasons: frozenset[DepartureReason] = frozenset({DepartureReason.TERMINATION_FOR_CAUSE})
    exclude_litigation: bool = True

    def decide(self, departure: EmployeeDeparted) -> Decision:
        if departure.departure_reason in self.excluded_reasons:
            return Decision(False, f"departure reason {departure.departure_reason.value} is excluded")
        if self.exclude_litigation and departure.litigation_pending:
            return Decision(False, "litigation with the company is pending")
        return Decision(True)
