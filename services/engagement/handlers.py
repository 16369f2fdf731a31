"""Events in: identity's events keep the projection of alumni that audiences are chosen by
(applied in version order; an erased alumnus stays a tombstone, and their answers and check-ins
are deleted)."""

from collections.abc import Callable

from services.engagement.answering import forget_alumnus
from services.engagement.audience import KnownAlumnus
from services.engagement.dependencies import Dependencies
from shared.events.alumni import AlumniImported, AlumnusErased, AlumnusRegistered, AlumnusUpdated, ConsentChanged
from shared.messaging.router import EventRouter
from shared.messaging.uow import EventContext


def event_handlers(deps: Dependencies) -> EventRouter:
    events = EventRouter()

    async def project(ctx: EventContext, alumnus_id: str, change: Callable[[KnownAlumnus], bool]) -> None:
        """One read and, when something changed, one write over what was read: no transaction."""
        alumni = deps.alumni(ctx)
        alumnus = await alumni.get(alumnus_id) or KnownAlumnus(alumnus_id)
        if change(alumnus):
            await alumni.save_if_unchanged(alumnus)

    @events.on(AlumnusRegistered, transaction=False)
    async def registered(event: AlumnusRegistered, ctx: EventContext) -> None:
        year = event.stint.departure_date.year

        def register(a: KnownAlumnus) -> bool:
            return a.register(event.version, event.profile, year, event.boomerang, event.consents)

        register(new := KnownAlumnus(event.alumnus_id))
        if await deps.alumni(ctx).add_if_absent(new):
            return  # most registrations: someone not known here yet, one write
        await project(ctx, event.alumnus_id, register)  # a boomerang, a tombstone, a consent change read first

    @events.on(AlumniImported)
    async def imported(event: AlumniImported, ctx: EventContext) -> None:
        """An import's alumni, projected as registrations are, many at a time."""
        alumni = deps.alumni(ctx)
        known = await alumni.many([a.alumnus_id for a in event.alumni])
        projected: dict[str, KnownAlumnus] = {}
        for a in event.alumni:
            alumnus = projected.get(a.alumnus_id) or known.get(a.alumnus_id) or KnownAlumnus(a.alumnus_id)
            if alumnus.register(a.version, a.profile, a.stint.departure_date.year, a.boomerang, a.consents):
                projected[a.alumnus_id] = alumnus
        await alumni.save_many([a for i, a in projected.items() if i not in known], new=True)
        await alumni.save_many([a for i, a in projected.items() if i in known], new=False)

    @events.on(AlumnusUpdated, transaction=False)
    async def updated(event: AlumnusUpdated, ctx: EventContext) -> None:
        await project(ctx, event.alumnus_id, lambda a: a.update_profile(event.version, event.profile))

    @events.on(ConsentChanged, transaction=False)
    async def consent_changed(event: ConsentChanged, ctx: EventContext) -> None:
        await project(ctx, event.alumnus_id, lambda a: a.set_consent(event.purpose, event.granted, event.version))

    @events.on(AlumnusErased)
    async def erased(event: AlumnusErased, ctx: EventContext) -> None:
        await deps.alumni(ctx).save(KnownAlumnus.tombstone(event.alumnus_id, event.erased_at))
        await forget_alumnus(ctx, deps, event.alumnus_id)

    return events
