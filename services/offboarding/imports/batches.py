"""One batch of an import in one transaction: the batch done already is answered as it was
(a replay changes nothing); else its rows are checked against the contract, the erased and
known departures found in a few queries, the rows sorted by the rules, the departures kept
remembered, the eligible leavers published as `LeaversImported` (one event, or a few when they
would not fit in one), and the batch recorded as done."""

import logging
from typing import Any

import pydantic

from services.offboarding.dependencies import Dependencies
from services.offboarding.domain import case_id_for
from services.offboarding.imports.rules import Row, sort_batch
from shared.events.chunks import parts
from shared.events.hris import EmployeeDeparted
from shared.events.offboarding import LeaversImported
from shared.messaging.uow import UnitOfWork

log = logging.getLogger(__name__)

# Leavers one event names at most. A batch of 1,000 rows is published as a few events, so that
# each of identity's and the projections' transactions stays short: one chunk must be handled
# within HANDLER_TIMEOUT_SECONDS (30 s), and 1,000 leavers took 12 s on average in identity on a
# loaded machine (bench/imports.py), 250 a quarter of that.
LEAVERS_PER_EVENT = 250


def read_row(line: int, record: dict[str, Any]) -> Row:
    """A record of the file checked against the contract; errors name the field, never the value."""
    try:
        return Row(line, EmployeeDeparted.model_validate(record))
    except pydantic.ValidationError as exc:
        errors = tuple(
            {"field": ".".join(str(p) for p in e["loc"]) or "(record)", "message": e["msg"]}
            for e in exc.errors(include_input=False, include_url=False, include_context=False)
        )
        return Row(line, None, errors)


async def import_batch(uow: UnitOfWork, deps: Dependencies, import_id: str, number: int, rows: list[Row]) -> dict[str, Any]:
    batches = deps.import_batches(uow)
    if (done := await batches.get(import_id, number)) is not None:
        return answer(import_id, number, done, replayed=True)
    keys, erased_people = deps.erasure_keys, deps.erased(uow)
    departures = [r.departure for r in rows if r.departure is not None]
    employee_keys = {d.employee_id: keys.of_employee(d.employee_id) for d in departures}
    stint_keys = {case_id_for(d.employee_id, d.hire_date): keys.of_stint(d.employee_id, d.hire_date) for d in departures}
    refused = await erased_people.refusing([*employee_keys.values(), *stint_keys.values()])
    cases = await deps.cases(uow).existing(list(stint_keys))

    def known(d: EmployeeDeparted) -> bool:
        case_id = case_id_for(d.employee_id, d.hire_date)
        return case_id in cases or stint_keys[case_id] in refused

    now = uow.now()
    batch = sort_batch(rows, deps.policy, now.date(), erased=lambda d: employee_keys[d.employee_id] in refused, known=known)
    for key in set(employee_keys.values()) & refused:
        await erased_people.refused(key, now)  # counted, as a refused departure is; who it was is not kept
    await erased_people.remember([stint_keys[case_id_for(d.employee_id, d.hire_date)] for d in batch.remembered], now)
    chunks = parts(batch.imported, most=LEAVERS_PER_EVENT)
    for n, leavers in enumerate(chunks):
        uow.publish(LeaversImported(import_id=import_id, batch=number, part=n, leavers=leavers), subject=import_id)
    result = batch.result() | {"events": len(chunks)}
    await batches.add(import_id, number, result, now)
    log.info("import batch done", extra={"import_id": import_id, "batch": number, "counts": batch.counts})
    return answer(import_id, number, result, replayed=False)


def answer(import_id: str, number: int, result: dict[str, Any], *, replayed: bool) -> dict[str, Any]:
    return {"import_id": import_id, "batch": number, "replayed": replayed} | {
        k: result[k] for k in ("rows", "counts", "exclusions", "lines", "events")
    }


async def progress(uow: UnitOfWork, deps: Dependencies, import_id: str) -> dict[str, Any]:
    """The batches of the import done, and their counts added up."""
    done = await deps.import_batches(uow).of_import(import_id)
    counts: dict[str, int] = {}
    exclusions: dict[str, int] = {}
    for batch in done:
        for name, n in batch["counts"].items():
            counts[name] = counts.get(name, 0) + n
        for reason, n in batch.get("exclusions", {}).items():
            exclusions[reason] = exclusions.get(reason, 0) + n
    return {
        "import_id": import_id, "batches_done": [b["batch"] for b in done], "rows": sum(b["rows"] for b in done),
        "counts": counts, "exclusions": exclusions, "events": sum(b.get("events", 0) for b in done),
        "last_batch_at": max((b["done_at"] for b in done), default=None),
    }
