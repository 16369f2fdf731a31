"""Identity's side of an import of historic leavers: each chunk offboarding publishes
(`LeaversImported`) becomes alumni in the one transaction of its handler, by identity's own
rules, announced by `AlumniImported` (the projections apply it); no confirmation link, no
welcome. The chunk is read and written in a few commands, not one per leaver.

Each leaver, in the chunk's order, is one of:
- erased: the stint was erased with its alumnus; refused and counted, never brought back;
- known: the alumnus with that employee id has the stint already (nothing changes);
- a boomerang: the alumnus with that employee id, or the record the leaver's personal email
  matches when it can be trusted for it (confirmed by its owner), gets the stint;
- reviewed: the email matches a record that cannot be trusted for it: HR decides, as for a
  completion (`MergeReviewOpened`), and the leaver waits; once resolved, they are announced as
  imported too;
- registered: a new alumnus.
Historic leavers were never asked: the import grants no consent.
"""

from collections import Counter

from services.identity.confirmations import open_review
from services.identity.dependencies import Dependencies
from services.identity.domain import Alumnus, trusted_match
from shared.events.alumni import MAX_IMPORTED_ALUMNI, AlumniImported, ImportedAlumnus
from shared.events.chunks import parts
from shared.events.offboarding import ImportedLeaver, LeaversImported, OffboardingCompleted
from shared.messaging.uow import UnitOfWork


def completion_of(imported: ImportedLeaver) -> OffboardingCompleted:
    """The leaver as an eligible completion, which identity's rules are written for: the HRIS's
    data is the only data (there was no exit form)."""
    return OffboardingCompleted.model_construct(
        case_id=f"{imported.employee_id}/{imported.hire_date.isoformat()}", employee_id=imported.employee_id,
        hire_date=imported.hire_date, departure_date=imported.departure_date, departure_reason=imported.departure_reason,
        rehire_eligible=imported.rehire_eligible, outcome="eligible", exclusion_reason=None, leaver=imported.leaver,
        profile=None, hris_personal_email=imported.leaver.personal_email,
    )


async def import_leavers(uow: UnitOfWork, deps: Dependencies, chunk: LeaversImported) -> Counter[str]:
    """What became of the chunk's leavers (registered, boomerangs, known, reviewed, erased)."""
    now, keys, erased = uow.now(), deps.erasure_keys, deps.erased(uow)
    stints = [keys.of_stint(leaver.employee_id, leaver.hire_date) for leaver in chunk.leavers]
    refused = await erased.refusing(stints)
    bulk = deps.alumni_in_bulk(uow)
    by_employee = await bulk.by_employee_ids(leaver.employee_id for leaver in chunk.leavers)
    by_email = await bulk.by_emails(
        str(leaver.leaver.personal_email) for leaver in chunk.leavers
        if leaver.employee_id not in by_employee and leaver.leaver.personal_email
    )
    # One object per record, however many leavers (by employee id or email) lead to it.
    records: dict[str, Alumnus] = {}
    for found in (by_employee, by_email):
        for key, alumnus in found.items():
            found[key] = records.setdefault(alumnus.alumnus_id, alumnus)
    new: dict[str, Alumnus] = {}
    changed: dict[str, Alumnus] = {}
    imported: list[ImportedAlumnus] = []
    outcomes: Counter[str] = Counter()
    for leaver, stint in zip(chunk.leavers, stints):
        if stint in refused:
            await erased.refused(stint, now)
            outcomes["erased"] += 1
            continue
        completed = completion_of(leaver)
        email = str(leaver.leaver.personal_email) if leaver.leaver.personal_email else None
        alumnus = by_employee.get(leaver.employee_id)
        if alumnus is None and email and (candidate := by_email.get(email)):
            if not trusted_match(candidate, completed):
                await open_review(uow, deps, completed, candidate, import_id=chunk.import_id)
                outcomes["reviewed"] += 1
                continue
            alumnus = candidate
        if alumnus is None:
            alumnus, registered = Alumnus.register(completed, deps.new_alumnus_id(), now)
            new[alumnus.alumnus_id] = alumnus
            outcomes["registered"] += 1
        else:
            registered = alumnus.add_stint(completed, now)
            if registered is None:
                outcomes["known"] += 1
                continue
            if alumnus.alumnus_id not in new:
                changed[alumnus.alumnus_id] = alumnus
            outcomes["boomerangs"] += 1
        by_employee[leaver.employee_id] = alumnus
        if email:
            by_email.setdefault(email, alumnus)
        imported.append(ImportedAlumnus.of(registered))
    await bulk.add_many(list(new.values()))
    await bulk.save_many(list(changed.values()))
    for part in parts(imported, most=MAX_IMPORTED_ALUMNI):
        uow.publish(AlumniImported(import_id=chunk.import_id, batch=chunk.batch, alumni=part), subject=chunk.import_id)
    return outcomes
