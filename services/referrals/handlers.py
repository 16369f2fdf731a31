"""Events in: identity's alumni keep the projection of who may refer (in version order; an
erased alumnus stays a tombstone and their referrals lose the link to them); the ATS's
application statuses move candidate referrals; a hire's departure claws back the bonus
milestones not yet due, and its cancellation (a rescinded resignation) gives them back."""

import logging
from datetime import UTC

from services.referrals.dependencies import Dependencies
from services.referrals.domain import EXPIRED, WITHDRAWN, Referrer
from services.referrals.progress import moved
from shared.events.alumni import AlumniImported, AlumnusErased, AlumnusRegistered, AlumnusUpdated
from shared.events.hris import EmployeeDeparted, EmployeeDepartureCancelled
from shared.events.referrals import ApplicationStatusChanged
from shared.messaging.router import EventRouter
from shared.messaging.uow import EventContext

log = logging.getLogger(__name__)


def event_handlers(deps: Dependencies) -> EventRouter:
    events = EventRouter()

    # One conditional write each, outside any transaction: applied only if newer, never over a tombstone.
    @events.on(AlumnusRegistered, transaction=False)
    async def registered(event: AlumnusRegistered, ctx: EventContext) -> None:
        email = event.profile.personal_email
        await deps.referrers(ctx).project(Referrer(event.alumnus_id, event.version, str(email) if email else None))

    @events.on(AlumniImported)
    async def imported(event: AlumniImported, ctx: EventContext) -> None:
        """An import's alumni, projected as registrations are, many at a time."""
        referrers = deps.referrers(ctx)
        known = await referrers.many([a.alumnus_id for a in event.alumni])
        projected: dict[str, Referrer] = {}
        for a in event.alumni:
            current = projected.get(a.alumnus_id) or known.get(a.alumnus_id) or Referrer(a.alumnus_id)
            if current.applies(a.version):
                email = a.profile.personal_email
                projected[a.alumnus_id] = Referrer(a.alumnus_id, a.version, str(email) if email else None)
        await referrers.save_many([r for i, r in projected.items() if i not in known], new=True)
        await referrers.save_many([r for i, r in projected.items() if i in known], new=False)

    @events.on(AlumnusUpdated, transaction=False)
    async def updated(event: AlumnusUpdated, ctx: EventContext) -> None:
        email = event.profile.personal_email
        await deps.referrers(ctx).project(Referrer(event.alumnus_id, event.version, str(email) if email else None))

    @events.on(AlumnusErased)
    async def erased(event: AlumnusErased, ctx: EventContext) -> None:
        await deps.referrers(ctx).save(Referrer(event.alumnus_id, event.version, None, event.erased_at))
        referrals, bonuses = deps.referrals(ctx), deps.bonuses(ctx)
        theirs = await referrals.of_referrer(event.alumnus_id)
        for referral in theirs:
            referral.forget_referrer()
            await referrals.save(referral)
        for bonus in await bonuses.of_referrer(event.alumnus_id):
            was = bonus.status
            bonus.referrer_erased(ctx.now())
            if bonus.status != was:
                await bonuses.save(bonus, was=was)
        log.info("referrer erased", extra={"alumnus_id": event.alumnus_id, "referrals": len(theirs)})

    @events.on(ApplicationStatusChanged)
    async def application_moved(event: ApplicationStatusChanged, ctx: EventContext) -> None:
        # A connector that sends a time without its zone means UTC (times here are compared).
        changed_at = event.changed_at if event.changed_at.tzinfo else event.changed_at.replace(tzinfo=UTC)
        referrals = deps.referrals(ctx)
        referral = await referrals.get(event.referral_id) if event.referral_id else None
        referral = referral or await referrals.by_application(event.application_id)
        if referral is not None and referral.status in (EXPIRED, WITHDRAWN) and not event.referral_id:
            referral = None  # the candidate may have been referred again since: matched by email
        if referral is None and event.candidate_email:
            since = changed_at - deps.validity
            referral = next((r for r in await referrals.by_candidate_email(str(event.candidate_email), since)
                             if r.status not in (EXPIRED, WITHDRAWN) and r.application_id in (None, event.application_id)), None)
        source = ctx.envelope.source if ctx.envelope else "unknown"
        if referral is None:
            await deps.unmatched(ctx).record(event.application_id, source, event.status, changed_at,
                                             had_email=event.candidate_email is not None, at=ctx.now())
            log.info("application matched no referral", extra={"application_id": event.application_id, "status": event.status})
            return
        await deps.unmatched(ctx).forget(event.application_id)
        changed = referral.follow_ats(event.status, changed_at, ctx.now(), application_id=event.application_id,
                                      employee_id=event.employee_id)
        await moved(deps, ctx, referral, changed)

    def emails(event: EmployeeDeparted) -> list[str]:
        return [str(e) for e in (event.personal_email, event.work_email) if e]

    async def of_a_referred_hire(event: EmployeeDeparted, ctx: EventContext) -> bool:
        """Most leavers were never referred: their departure is one read here, no transaction."""
        return bool(await deps.referrals(ctx).hires(event.employee_id, emails(event)))

    @events.on(EmployeeDeparted, relevant=of_a_referred_hire)
    async def departed(event: EmployeeDeparted, ctx: EventContext) -> None:
        """A referred hire left: the milestones not yet due on their departure date are cancelled."""
        bonuses = deps.bonuses(ctx)
        for referral in await deps.referrals(ctx).hires(event.employee_id, emails(event)):
            for bonus in await bonuses.of_referral(referral.referral_id):
                if bonus.claw_back(event.departure_date, ctx.now()):
                    await bonuses.save(bonus, was="scheduled")
                    log.info("bonus milestone clawed back", extra={"referral_id": referral.referral_id, "bonus_id": bonus.bonus_id})

    @events.on(EmployeeDepartureCancelled)
    async def departure_cancelled(event: EmployeeDepartureCancelled, ctx: EventContext) -> None:
        """The departure was rescinded: the milestones it clawed back are due again (matched by
        the employee id: a cancellation carries no email)."""
        bonuses = deps.bonuses(ctx)
        for referral in await deps.referrals(ctx).hires(event.employee_id, []):
            for bonus in await bonuses.of_referral(referral.referral_id):
                if bonus.departure_rescinded(ctx.now().date()):
                    await bonuses.save(bonus, was="cancelled")
                    log.info("clawed-back milestone restored", extra={"referral_id": referral.referral_id, "bonus_id": bonus.bonus_id})

    return events
