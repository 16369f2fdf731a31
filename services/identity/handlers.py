"""Events in: completed offboardings become alumni (or wait for HR's review of an email match
that cannot be trusted, services/identity/confirmations.py), and so do the chunks of an import of
historic leavers (services/identity/imports.py); exit-form answers and unsubscribe links update
them."""

import logging

from services.identity.confirmations import admit, request_confirmation
from services.identity.dependencies import Dependencies
from services.identity.domain import UNSUBSCRIBE_LINK, AlumnusNotYetRegistered, NotRegistrable
from services.identity.imports import import_leavers
from shared.events.notifications import UnsubscribeRequested
from shared.events.offboarding import ExitFormSubmitted, LeaversImported, OffboardingCompleted
from shared.messaging.router import EventRouter
from shared.messaging.uow import EventContext

log = logging.getLogger(__name__)


def event_handlers(deps: Dependencies) -> EventRouter:
    # Exit-form answers may arrive before the completion (another topic): they wait for it.
    events = EventRouter(permanent=(NotRegistrable,), waiting=(AlumnusNotYetRegistered,))

    @events.on(OffboardingCompleted)
    async def offboarding_completed(event: OffboardingCompleted, ctx: EventContext) -> None:
        if event.outcome != "eligible":
            log.info("excluded leaver not registered", extra={"case_id": event.case_id, "reason": event.exclusion_reason})
            return
        erased = deps.erased(ctx)
        if await erased.refuses(stint := deps.erasure_keys.of_stint(event.employee_id, event.hire_date)):
            await erased.refused(stint, ctx.now())
            log.info("completion of an erased alumnus's stint refused", extra={"event_id": ctx.envelope.id if ctx.envelope else None})
            return
        await admit(ctx, deps, event)

    @events.on(LeaversImported)
    async def leavers_imported(event: LeaversImported, ctx: EventContext) -> None:
        outcomes = await import_leavers(ctx, deps, event)
        log.info("imported leavers registered", extra={"import_id": event.import_id, "batch": event.batch, "part": event.part, **outcomes})

    @events.on(ExitFormSubmitted)
    async def exit_form_submitted(event: ExitFormSubmitted, ctx: EventContext) -> None:
        erased = deps.erased(ctx)
        if await erased.refuses(stint := deps.erasure_keys.of_stint(event.employee_id, event.hire_date)):
            await erased.refused(stint, ctx.now())  # erased while its answers waited: they bring no one back
            log.info("exit-form answers of an erased alumnus's stint refused", extra={"event_id": ctx.envelope.id if ctx.envelope else None})
            return
        alumni = deps.alumni(ctx)
        alumnus = await alumni.by_employee_id(event.employee_id)
        if alumnus is None or not alumnus.has_stint(event.employee_id, event.hire_date):  # a boomerang's new stint too
            reviews = deps.reviews(ctx)
            if review := await reviews.open_for(event.employee_id):
                review.take_answers(event.profile)  # the leaver waits for HR: so do their answers
                await reviews.save(review)
                return
            raise AlumnusNotYetRegistered(f"no alumnus yet for the stint {event.case_id}")
        before = str(alumnus.profile.personal_email) if alumnus.profile.personal_email else None
        for change in alumnus.apply_exit_form(event.profile, ctx.now()):
            ctx.publish(change, subject=alumnus.alumnus_id)
        await alumni.save(alumnus)
        await request_confirmation(ctx, deps, alumnus, before)

    @events.on(UnsubscribeRequested)
    async def unsubscribed(event: UnsubscribeRequested, ctx: EventContext) -> None:
        """An unsubscribe link in an email withdraws that consent in the ledger."""
        alumni = deps.alumni(ctx)
        alumnus = await alumni.get(event.alumnus_id)
        if alumnus is None:
            return  # erased meanwhile: nothing left to withdraw
        if changed := alumnus.set_consent(event.purpose, False, UNSUBSCRIBE_LINK, event.requested_at):
            ctx.publish(changed, subject=alumnus.alumnus_id)
            await alumni.save(alumnus)

    return events
