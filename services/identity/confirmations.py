"""Identity's use cases around trust in a personal email, over a unit of work and the
dependencies (handlers.py and api.py run them): admitting a leaver (a new alumnus, a boomerang,
or a merge review when the address that matched cannot be trusted), asking the owner of a new
address to confirm it, the confirmation itself, and HR's decision on a review."""

import logging

from services.identity.dependencies import Dependencies
from services.identity.domain import AddressChanged, Alumnus, emails_to_match, trusted_match
from services.identity.verification import (
    ConfirmationSuperseded,
    Decision,
    EmailConfirmation,
    MergeReview,
    ReviewClosed,
    UnknownConfirmation,
    UnknownReview,
    token_digest,
)
from shared.events.alumni import AlumniImported, ImportedAlumnus
from shared.events.offboarding import OffboardingCompleted
from shared.messaging.uow import UnitOfWork

log = logging.getLogger(__name__)


async def admit(uow: UnitOfWork, deps: Dependencies, completed: OffboardingCompleted) -> None:
    """An eligible leaver: the alumnus with their employee id gets the stint; else the record
    their personal email matches, when it can be trusted for it; else, when a record matches but
    cannot be trusted, HR reviews the match (the leaver waits); else a new alumnus."""
    alumni = deps.alumni(uow)
    existing = await alumni.by_employee_id(completed.employee_id)
    if existing is None:
        candidate = None
        for email in emails_to_match(completed):
            if candidate := await alumni.by_email(email):
                break
        if candidate is not None and not trusted_match(candidate, completed):
            await open_review(uow, deps, completed, candidate)
            return
        existing = candidate
    await register(uow, deps, completed, existing)


async def register(uow: UnitOfWork, deps: Dependencies, completed: OffboardingCompleted, into: Alumnus | None, *,
                   import_id: str | None = None) -> str:
    """A new alumnus (`into` None) or a new stint on `into`; the alumnus's id. A leaver of an
    import (`import_id`) is announced as imported: no welcome, no confirmation link."""
    before = str(into.profile.personal_email) if into and into.profile.personal_email else None
    if into is None:
        alumnus, registered = Alumnus.register(completed, deps.new_alumnus_id(), uow.now())
    else:
        alumnus, registered = into, into.add_stint(completed, uow.now())
        if registered is None:
            return alumnus.alumnus_id  # this stint is known: a re-sent completion
        log.info("boomerang registered", extra={"alumnus_id": alumnus.alumnus_id, "stints": len(alumnus.stints)})
    if import_id is not None:
        uow.publish(AlumniImported(import_id=import_id, alumni=[ImportedAlumnus.of(registered)]), subject=import_id)
    else:
        uow.publish(registered, subject=alumnus.alumnus_id)
    alumni = deps.alumni(uow)
    await (alumni.add if into is None else alumni.save)(alumnus)
    if import_id is None:
        await request_confirmation(uow, deps, alumnus, before)
    return alumnus.alumnus_id


async def open_review(uow: UnitOfWork, deps: Dependencies, completed: OffboardingCompleted, candidate: Alumnus, *,
                      import_id: str | None = None) -> bool:
    """HR reviews the match (False: a review of this leaver is open already)."""
    reviews = deps.reviews(uow)
    if await reviews.open_for(completed.employee_id):
        return False  # a re-sent completion: the review is open already
    review, opened = MergeReview.open(completed, candidate, deps.new_review_id(), uow.now(), import_id=import_id)
    uow.publish(opened, subject=review.review_id)
    await reviews.save(review)
    log.info("merge review opened", extra={"review_id": review.review_id, "alumnus_id": candidate.alumnus_id})
    return True


async def request_confirmation(uow: UnitOfWork, deps: Dependencies, alumnus: Alumnus, before: str | None, *, again: bool = False) -> bool:
    """A link to the record's address when it is new and not verified (`again`: even if not new)."""
    address = alumnus.email_to_confirm(None if again else before)
    if address is None:
        return False
    confirmation, requested = EmailConfirmation.request(alumnus, address, deps.confirmation_links, uow.now())
    uow.publish(requested, subject=alumnus.alumnus_id)
    await deps.confirmations(uow).save(confirmation)
    return True


async def _confirmation_behind(uow: UnitOfWork, deps: Dependencies, token: str) -> tuple[EmailConfirmation, Alumnus]:
    confirmation = await deps.confirmations(uow).get(token_digest(token))
    alumnus = await deps.alumni(uow).get(confirmation.alumnus_id) if confirmation else None
    if confirmation is None or alumnus is None:
        raise UnknownConfirmation("this link is not known")
    return confirmation, alumnus


async def show_confirmation(uow: UnitOfWork, deps: Dependencies, token: str) -> Alumnus:
    """The alumnus whose address the link confirms, if the link is still good (nothing changes:
    mail scanners open links)."""
    confirmation, alumnus = await _confirmation_behind(uow, deps, token)
    confirmation.check(uow.now(), alumnus.profile.locale)
    return alumnus


async def confirm(uow: UnitOfWork, deps: Dependencies, token: str) -> Alumnus:
    """Use the link, once: the record's address is verified."""
    confirmation, alumnus = await _confirmation_behind(uow, deps, token)
    confirmation.use(uow.now(), alumnus.profile.locale)
    try:
        confirmed = alumnus.confirm_email(confirmation.address_digest, uow.now())
    except AddressChanged as exc:
        raise ConfirmationSuperseded(str(exc), alumnus.profile.locale) from None
    if confirmed:
        uow.publish(confirmed, subject=alumnus.alumnus_id)
        await deps.alumni(uow).save(alumnus)
    await deps.confirmations(uow).save(confirmation)
    return alumnus


async def resolve_review(uow: UnitOfWork, deps: Dependencies, review_id: str, decision: Decision, by: str) -> str:
    """HR's decision: merge the parked leaver into the record the address matched, or register
    them as a new alumnus; the alumnus's id."""
    reviews = deps.reviews(uow)
    review = await reviews.get(review_id)
    if review is None:
        raise UnknownReview(f"no merge review {review_id}")
    candidate = await deps.alumni(uow).get(review.alumnus_id) if decision is Decision.MERGE else None
    if decision is Decision.MERGE and candidate is None:
        raise ReviewClosed(f"the alumnus {review.alumnus_id} was erased: keep the leaver separate")
    completed = review.resolve(decision, by, uow.now())
    await reviews.save(review)
    return await register(uow, deps, completed, candidate, import_id=review.import_id)
