"""Events in, alumni out."""

import logging
import uuid

from services.identity.domain import Alumnus
from services.identity.repository import Alumni
from shared.messaging.router import EventRouter
from shared.messaging.uow import EventContext
from shared.events.notifications import UnsubscribeRequested
from shared.events.offboarding import ExitFormSubmitted, OffboardingCompleted
from shared.messaging.failures import TransientError

log = logging.getLogger(__name__)

events = EventRouter()


@events.on(OffboardingCompleted)
async def offboarding_completed(event: OffboardingCompleted, ctx: EventContext) -> None:
    if event.outcome != "eligible":
        log.info("excluded leaver not registered", extra={"case_id": event.case_id, "reason": event.exclusion_reason})
        return
    alumni = Alumni(ctx)
    now = ctx.now()
    existing = await alumni.by_employee_id(event.employee_id)
    email = event.profile.personal_email if event.profile else None
    email = email or (event.leaver.personal_email if event.leaver else None)
    if existing is None and email:
        existing = await alumni.by_verified_email(str(email))
    if existing is None:
        alumnus, registered = Alumnus.register(event, f"alm_{uuid.uuid4().hex}", now)
    else:
        alumnus, registered = existing, existing.add_stint(event, now)
        if registered is None:
            return  # this stint is known: a re-sent completion
        log.info("boomerang registered", extra={"alumnus_id": alumnus.alumnus_id, "stints": len(alumnus.stints)})
    ctx.publish(registered, subject=alumnus.alumnus_id)
    await alumni.save(alumnus)


@events.on(ExitFormSubmitted)
async def exit_form_submitted(event: ExitFormSubmitted, ctx: EventContext) -> None:
    alumni = Alumni(ctx)
    alumnus = await alumni.by_employee_id(event.employee_id)
    if alumnus is None:
        # The completion travels on another topic and may not be handled yet: retry.
        raise TransientError(f"no alumnus yet for employee {event.employee_id}")
    for change in alumnus.apply_exit_form(event.profile, ctx.now()):
        ctx.publish(change, subject=alumnus.alumnus_id)
    await alumni.save(alumnus)


@events.on(UnsubscribeRequested)
async def unsubscribed(event: UnsubscribeRequested, ctx: EventContext) -> None:
    """An unsubscribe link in an email withdraws that consent in the ledger."""
    alumni = Alumni(ctx)
    alumnus = await alumni.get(event.alumnus_id)
    if alumnus is None:
        return  # erased meanwhile: nothing left to withdraw
    if changed := alumnus.set_consent(event.purpose, False, "unsubscribe-link", event.requested_at):
        ctx.publish(changed, subject=alumnus.alumnus_id)
        await alumni.save(alumnus)
