"""How one batch of an import is sorted, without I/O.

A row is a departure from the operator's file with its line number. Each row is, in order:
invalid (it breaks the contract), not departed yet (a future departure is the HRIS's to
announce: it opens an exit case), erased (the employee was erased: never brought back), known
(offboarding has this departure already: an exit case, an earlier import, a case forgotten
after its retention, or an earlier row of the batch), excluded (by the eligibility rules, the
reason counted), or imported: an eligible leaver identity is to register. Known, excluded and
imported departures are remembered (a keyed hash of the stint), so that a later HRIS re-send or
another import of them changes nothing.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from typing import Any

from services.offboarding.domain import case_id_for
from services.offboarding.eligibility import EligibilityPolicy
from shared.events.hris import EmployeeDeparted
from shared.events.offboarding import ImportedLeaver, Leaver


class Outcome(StrEnum):
    IMPORTED = "imported"
    EXCLUDED = "excluded"
    ERASED = "erased"
    KNOWN = "known"
    NOT_DEPARTED = "not_departed"
    INVALID = "invalid"


NOT_DEPARTED_YET = "the departure date is in the future: the HRIS announces it as a departure, which opens an exit case"
ERASED_REASON = "the employee was erased: HR re-admits them (POST /erased-employees/{employee_id}/readmission) before they can return"


@dataclass(frozen=True)
class Row:
    line: int
    departure: EmployeeDeparted | None  # None: the record breaks the contract
    errors: tuple[dict[str, str], ...] = ()  # {"field", "message"}, never the value


@dataclass
class SortedBatch:
    rows: int = 0
    counts: dict[str, int] = field(default_factory=lambda: {o.value: 0 for o in Outcome})
    exclusions: dict[str, int] = field(default_factory=dict)  # reason -> how many
    lines: list[dict[str, Any]] = field(default_factory=list)  # the rows not imported, and why
    imported: list[ImportedLeaver] = field(default_factory=list)
    remembered: list[EmployeeDeparted] = field(default_factory=list)  # stints to remember

    def _note(self, row: Row, outcome: Outcome, reason: str | None = None) -> None:
        self.counts[outcome.value] += 1
        if outcome is not Outcome.IMPORTED:
            self.lines.append({"line": row.line, "outcome": outcome.value}
                              | ({"reason": reason} if reason else {}) | ({"errors": list(row.errors)} if row.errors else {}))

    def result(self) -> dict[str, Any]:
        """What is recorded of the batch and answered: counts and lines, nothing personal."""
        return {"rows": self.rows, "counts": self.counts, "exclusions": self.exclusions, "lines": self.lines}


def sort_batch(
    rows: Sequence[Row], policy: EligibilityPolicy, today: date, *,
    erased: Callable[[EmployeeDeparted], bool], known: Callable[[EmployeeDeparted], bool],
) -> SortedBatch:
    """`erased`: whether the employee was erased; `known`: whether offboarding has the stint."""
    batch = SortedBatch(rows=len(rows))
    seen: set[str] = set()
    for row in rows:
        d = row.departure
        if d is None:
            batch._note(row, Outcome.INVALID)
            continue
        if d.departure_date > today:
            batch._note(row, Outcome.NOT_DEPARTED, NOT_DEPARTED_YET)
            continue
        if erased(d):
            batch._note(row, Outcome.ERASED, ERASED_REASON)
            continue
        case_id = case_id_for(d.employee_id, d.hire_date)
        if case_id in seen or known(d):
            batch._note(row, Outcome.KNOWN, "offboarding has this departure already")
            continue
        seen.add(case_id)
        batch.remembered.append(d)
        decision = policy.decide(d)
        if not decision.eligible:
            reason = decision.reason or "excluded"
            batch.exclusions[reason] = batch.exclusions.get(reason, 0) + 1
            batch._note(row, Outcome.EXCLUDED, reason)
            continue
        batch._note(row, Outcome.IMPORTED)
        batch.imported.append(imported_leaver(d))
    return batch


def imported_leaver(d: EmployeeDeparted) -> ImportedLeaver:
    """What identity needs of an eligible departure (the departure itself was validated)."""
    leaver = Leaver.model_construct(**{name: getattr(d, name) for name in Leaver.model_fields})
    return ImportedLeaver.model_construct(
        employee_id=d.employee_id, hire_date=d.hire_date, departure_date=d.departure_date,
        departure_reason=d.departure_reason, rehire_eligible=d.rehire_eligible, leaver=leaver,
    )
