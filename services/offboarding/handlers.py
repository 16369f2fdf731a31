"""Events in, exit cases out."""

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta

from services.offboarding.domain import EligibilityPolicy, ExitCase, ExitInvitation, case_id_for
from services.offboarding.repository import ExitCases, Invitations
from shared.messaging.router import EventRouter
from shared.messaging.uow import EventContext
from shared.events.alumni import AlumnusErased
from shared.events.hris import EmployeeDeparted, EmployeeDepartureCancelled
from shared.events.offboarding import ExitFormIssued
from shared.messaging.failures import TransientError
from shared.messaging.uow import UnitOfWork

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class OffboardingRules:
    policy: EligibilityPolicy
    exit_form_base_url: str
    exit_form_valid_for: timedelta


async def receive_departure(event: EmployeeDeparted, uow: UnitOfWork, rules: OffboardingRules) -> ExitCase:
    cases = ExitCases(uow)
    now = uow.now()
    case = await cases.get(case_id_for(event.employee_id, event.hire_date))
    if case is None:
        case = ExitCase.open(event, rules.policy, now)
        if case.decision.eligible:
            await _invite(case, uow, rules)
        log.info("exit case opened", extra={"case_id": case.case_id, "eligible": case.decision.eligible})
    else:
        case.resend(event, rules.policy)
        log.info("departure re-sent", extra={"case_id": case.case_id, "status": case.status.value})
    if case.is_due(now.date()):
        uow.publish(case.complete(now), subject=case.employee_id)
    await cases.save(case)
    return case


async def _invite(case: ExitCase, uow: UnitOfWork, rules: OffboardingRules) -> None:
    # Valid from now until some time after the departure date, however far ahead that is.
    departure = datetime.combine(case.departure.departure_date, time(), UTC)
    invitation = ExitInvitation.issue(case.case_id, max(uow.now(), departure), rules.exit_form_valid_for)
    await Invitations(uow).add(invitation)
    d = case.departure
    uow.publish(
        ExitFormIssued(
            case_id=case.case_id,
            employee_id=d.employee_id,
            first_name=d.first_name,
            email=d.personal_email or d.work_email,
            locale=d.locale,
            form_url=f"{rules.exit_form_base_url.rstrip('/')}/exit-form/{invitation.token}",
            expires_at=invitation.expires_at,
        ),
        subject=d.employee_id,
    )


def event_handlers(rules: OffboardingRules) -> EventRouter:
    events = EventRouter()

    @events.on(EmployeeDeparted)
    async def departed(event: EmployeeDeparted, ctx: EventContext) -> None:
        await receive_departure(event, ctx, rules)

    @events.on(EmployeeDepartureCancelled)
    async def departure_cancelled(event: EmployeeDepartureCancelled, ctx: EventContext) -> None:
        cases = ExitCases(ctx)
        case = await cases.latest_for(event.employee_id)
        if case is None:
            # The departure may still be on its way (another topic): retry, then dead-letter.
            raise TransientError(f"no departure known for employee {event.employee_id} to cancel")
        if cancelled := case.cancel(event.reason, ctx.now()):
            ctx.publish(cancelled, subject=case.employee_id)
            if cancelled.after_completion:
                log.warning("departure cancelled after its case completed", extra={"case_id": case.case_id})
        await cases.save(case)

    @events.on(AlumnusErased)
    async def alumnus_erased(event: AlumnusErased, ctx: EventContext) -> None:
        cases = ExitCases(ctx)
        await Invitations(ctx).forget_cases(await cases.case_ids(event.employee_ids))
        forgotten = await cases.forget(event.employee_ids)
        log.info("exit cases erased", extra={"alumnus_id": event.alumnus_id, "cases": forgotten})

    return events
