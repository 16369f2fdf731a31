"""Events in, exit cases out: a departure opens (or updates) its case and invites an eligible
leaver to the exit form, a cancellation closes or reports it, an erasure forgets the cases."""

import logging

from services.offboarding.dependencies import Dependencies
from services.offboarding.erasure import erase_employees
from services.offboarding.domain import CaseClosed, DepartureNotYetKnown, ExitCase, case_id_for
from shared.events.alumni import AlumnusErased
from shared.events.hris import EmployeeDeparted, EmployeeDepartureCancelled
from shared.messaging.router import EventRouter
from shared.messaging.uow import EventContext

log = logging.getLogger(__name__)


def event_handlers(deps: Dependencies) -> EventRouter:
    # A case completed twice breaks a rule; a cancellation may arrive before its departure
    # (another topic): DepartureNotYetKnown parks it until the departure is handled.
    events = EventRouter(permanent=(CaseClosed,), waiting=(DepartureNotYetKnown,))

    async def erased(employee_id: str, ctx: EventContext, refusing: set[str] | None = None) -> bool:
        """A departure or cancellation of an erased employee is refused, recorded without who it
        was, never dead-lettered: a re-send, a replayed webhook or dead letter brings no one back.
        `refusing`: the erased keys already read for this event."""
        key = deps.erasure_keys.of_employee(employee_id)
        if key not in (refusing if refusing is not None else await deps.erased(ctx).refusing([key])):
            return False
        await deps.erased(ctx).refused(key, ctx.now())
        log.info("event about an erased employee refused", extra={"event_id": ctx.envelope.id if ctx.envelope else None})
        return True

    @events.on(EmployeeDeparted)
    async def departed(event: EmployeeDeparted, ctx: EventContext) -> None:
        stint = deps.erasure_keys.of_stint(event.employee_id, event.hire_date)
        # The employee and the stint in one read: a stint is refused once its case was forgotten.
        refusing = await deps.erased(ctx).refusing([deps.erasure_keys.of_employee(event.employee_id), stint])
        if await erased(event.employee_id, ctx, refusing):
            return
        cases = deps.cases(ctx)
        now = ctx.now()
        case = await cases.get(case_id_for(event.employee_id, event.hire_date))
        if case is None and stint in refusing:
            await deps.erased(ctx).refused(stint, now)  # its case was closed and forgotten: a re-send
            log.info("departure of a forgotten case re-sent", extra={"event_id": ctx.envelope.id if ctx.envelope else None})
            return
        if case is None:
            case = ExitCase.open(event, deps.policy, now)
            waiting = await deps.waiting(ctx).of(event.employee_id, EmployeeDepartureCancelled)
            if cancellation := next((c for c in waiting if case.named_by(c)), None):
                # Its cancellation came first: closed at once, no link, no alumnus. The parked
                # cancellation, handled next, finds the case cancelled and changes nothing.
                ctx.publish(case.cancel(cancellation.reason, now), subject=case.employee_id)
                log.info("departure cancelled before it arrived", extra={"case_id": case.case_id})
            elif case.decision.eligible:
                invitation, issued = case.invite(deps.exit_form, now)
                await deps.invitations(ctx).add(invitation)
                ctx.publish(issued, subject=case.employee_id)
            log.info("exit case opened", extra={"case_id": case.case_id, "eligible": case.decision.eligible})
        else:
            case.resend(event, deps.policy)
            log.info("departure re-sent", extra={"case_id": case.case_id, "status": case.status.value})
        if case.is_due(now.date()):
            ctx.publish(case.complete(now), subject=case.employee_id)
        await cases.save(case)

    @events.on(EmployeeDepartureCancelled)
    async def departure_cancelled(event: EmployeeDepartureCancelled, ctx: EventContext) -> None:
        if await erased(event.employee_id, ctx):
            return
        cases = deps.cases(ctx)
        case = next((c for c in await cases.of_employee(event.employee_id) if c.named_by(event)), None)
        if case is None:
            raise DepartureNotYetKnown(f"no departure of employee {event.employee_id} that this cancellation names is known yet")
        if cancelled := case.cancel(event.reason, ctx.now()):
            ctx.publish(cancelled, subject=case.employee_id)
            if cancelled.after_completion:
                log.warning("departure cancelled after its case completed", extra={"case_id": case.case_id})
        await cases.save(case)

    @events.on(AlumnusErased)
    async def alumnus_erased(event: AlumnusErased, ctx: EventContext) -> None:
        forgotten = await erase_employees(ctx, deps, event.employee_ids)
        log.info("exit cases erased", extra={"alumnus_id": event.alumnus_id, "cases": forgotten})

    return events
