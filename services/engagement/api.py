"""The engagement HTTP API: hosted events (create, publish, change, cancel, list), their
attendees and check-ins, the alumni's answers (`PUT /events/{id}/rsvp` with their own token) and
the one-click links of the invitations (services/engagement/one_click.py).

Scopes: `events:read` < `events:write` < `events:admin`; an alumnus's own token (`alumni:self`)
lists the events whose audience includes them and answers them. Domain errors become statuses by
their type: a broken rule 422 (naming the field), an unknown event 404, an alumnus outside the
audience 403, a cancelled or started event 409.
"""

from collections.abc import Awaitable, Callable
from dataclasses import asdict
from typing import Any, TypeVar

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute

from services.engagement.answering import answer
from services.engagement.dependencies import Dependencies
from services.engagement.domain import (
    CANCELLED, DRAFT, GOING, INVITATIONS, PUBLISHED, STATUSES, UPDATES, EngagementError, EventClosed, HostedEvent,
    InvalidHostedEvent, Mailing, NotInAudience, UnknownHostedEvent,
)
from services.engagement.audience import Audience
from services.engagement.one_click import one_click_router
from services.engagement.schemas import Cancellation, CheckInRequest, HostedEventChanges, HostedEventRequest, RsvpRequest
from shared.events.engagement import AttendanceRecorded
from shared.messaging.uow import UnitOfWork
from shared.web.auth import SELF, Principal, requires
from shared.web.personal_data import Gather, PersonalDataQuery

READ, WRITE = "events:read", "events:write"
T = TypeVar("T")
ERROR_STATUSES: dict[type[EngagementError], int] = {InvalidHostedEvent: 422, UnknownHostedEvent: 404, NotInAudience: 403, EventClosed: 409}


def http_error(exc: EngagementError) -> HTTPException:
    status = next(s for kind, s in ERROR_STATUSES.items() if isinstance(exc, kind))
    if isinstance(exc, InvalidHostedEvent):
        return HTTPException(status, {"message": str(exc), "errors": [{"field": f, "message": m} for f, m in exc.errors]})
    return HTTPException(status, str(exc))


class FieldNamingRoute(APIRoute):
    """A request body that breaks the contract is answered as the domain's broken rules are:
    422 `{"detail": {"message", "errors": [{"field", "message"}]}}`, naming each field and rule,
    never the value given."""

    def get_route_handler(self) -> Callable:
        handler = super().get_route_handler()

        async def checked(request: Request):
            try:
                return await handler(request)
            except RequestValidationError as exc:
                errors = [(".".join(str(p) for p in e["loc"][1:]) or "(body)", e["msg"]) for e in exc.errors()]
                error = http_error(InvalidHostedEvent(errors))
                return JSONResponse({"detail": error.detail}, status_code=error.status_code)

        return checked


async def run(request: Request, work: Callable[[UnitOfWork], Awaitable[T]]) -> T:
    try:
        return await request.app.state.runtime.transactions.run(work)
    except EngagementError as exc:
        raise http_error(exc) from None


def view(e: HostedEvent) -> dict[str, Any]:
    return {
        "event_id": e.event_id, "title": e.title, "kind": e.kind, "description": e.description,
        "starts_at": e.starts_at.isoformat(), "ends_at": e.ends_at.isoformat(), "timezone": e.timezone, "location": e.location,
        "online_url": e.online_url, "locale": e.locale, "capacity": e.capacity, "speaker_alumni_ids": list(e.speaker_alumni_ids),
        "audience": e.audience.as_dict(), "status": e.status, "sequence": e.sequence, "seats_taken": e.seats_taken,
    }


def personal_data(deps: Dependencies) -> Gather:
    """What engagement holds about an alumnus: the projection audiences are chosen by, their
    answers and check-ins, and the events naming them as a speaker (nothing by employee id)."""

    async def gather(uow: UnitOfWork, query: PersonalDataQuery) -> dict:
        if query.alumnus_id is None:
            return {"known_alumnus": None, "answers": [], "check_ins": [], "speaker_at": []}
        known = await deps.alumni(uow).get(query.alumnus_id)
        if known is not None and known.erased:
            known_view: dict | None = {"alumnus_id": known.alumnus_id, "erased_at": known.erased_at}  # a tombstone, nothing more
        else:
            known_view = asdict(known) if known else None
        speaking = await deps.hosted_events(uow).with_speaker(query.alumnus_id)
        return {
            "known_alumnus": known_view,
            "answers": [asdict(a) for a in await deps.answers(uow).of_alumnus(query.alumnus_id)],
            "check_ins": await deps.check_ins(uow).of_alumnus(query.alumnus_id),
            "speaker_at": [{"event_id": e.event_id, "title": e.title, "starts_at": e.starts_at, "status": e.status} for e in speaking],
        }

    return gather


async def _existing(uow: UnitOfWork, deps: Dependencies, event_id: str) -> HostedEvent:
    hosted = await deps.hosted_events(uow).get(event_id)
    if hosted is None:
        raise UnknownHostedEvent(f"no event {event_id}")
    return hosted


def http_router(deps: Dependencies) -> APIRouter:
    router = APIRouter(tags=["hosted events"], route_class=FieldNamingRoute)
    router.include_router(one_click_router(deps))

    @router.post("/events", status_code=201, summary="Create a hosted event (a draft)")
    async def create(draft: HostedEventRequest, request: Request, _: Principal = Depends(requires(WRITE))) -> dict:
        values = draft.model_dump(exclude={"audience"})
        values["online_url"] = str(draft.online_url) if draft.online_url else None
        values["locale"] = draft.locale.value
        values["speaker_alumni_ids"] = tuple(draft.speaker_alumni_ids)
        audience = Audience.of(**draft.audience.model_dump(mode="json"))

        async def add(uow: UnitOfWork) -> dict:
            hosted = HostedEvent.draft(deps.new_event_id(), values, audience, uow.now())
            await deps.hosted_events(uow).add(hosted)
            return {"event_id": hosted.event_id, "status": hosted.status}

        return await run(request, add)

    @router.post("/events/{event_id}/publish", summary="Publish: announce the event and invite its audience, each alumnus once")
    async def publish(event_id: str, request: Request, _: Principal = Depends(requires(WRITE))) -> dict:
        async def work(uow: UnitOfWork) -> dict:
            hosted = await _existing(uow, deps, event_id)
            if hosted_event := hosted.publish(uow.now()):
                uow.publish(hosted_event, subject=event_id)
                await deps.hosted_events(uow).save(hosted)
                await deps.mailings(uow).add(Mailing.of(hosted, INVITATIONS))
            return view(hosted)

        published = await run(request, work)
        deps.wake_scheduler()
        return published

    @router.patch("/events/{event_id}", summary="Change an event; a new time or place is sent to those going")
    async def change(event_id: str, body: HostedEventChanges, request: Request, _: Principal = Depends(requires(WRITE))) -> dict:
        changes = body.model_dump(exclude_unset=True)
        if changes.get("online_url") is not None:
            changes["online_url"] = str(changes["online_url"])
        if cleared := [(k, "cannot be cleared") for k in ("title", "starts_at", "ends_at", "timezone") if k in changes and changes[k] is None]:
            raise http_error(InvalidHostedEvent(cleared))

        async def work(uow: UnitOfWork) -> dict:
            hosted = await _existing(uow, deps, event_id)
            if moved := hosted.change(changes, uow.now()):
                await deps.mailings(uow).add(Mailing.of(hosted, UPDATES, tuple(moved)))
            await deps.hosted_events(uow).save(hosted)
            return view(hosted)

        changed = await run(request, work)
        deps.wake_scheduler()
        return changed

    @router.post("/events/{event_id}/cancel", summary="Cancel an event; those going or maybe are told")
    async def cancel(event_id: str, request: Request, body: Cancellation | None = None, _: Principal = Depends(requires(WRITE))) -> dict:
        reason = body.reason if body else None

        async def work(uow: UnitOfWork) -> dict:
            hosted = await _existing(uow, deps, event_id)
            if cancelled := hosted.cancel(reason, uow.now()):
                uow.publish(cancelled, subject=event_id)
            await deps.hosted_events(uow).save(hosted)
            return view(hosted)

        return await run(request, work)

    @router.get("/events", summary="Events: all of them for events:read, those open to them for an alumnus")
    async def listing(request: Request, upcoming: bool = False, principal: Principal = Depends(requires(READ, SELF))) -> dict:
        async def work(uow: UnitOfWork) -> dict:
            after = uow.now() if upcoming else None
            if READ in principal.scopes:
                found = await deps.hosted_events(uow).listing((DRAFT, PUBLISHED, CANCELLED), after)
            else:
                alumnus = await deps.alumni(uow).get(principal.alumnus_id or "")
                found = [e for e in await deps.hosted_events(uow).listing((PUBLISHED,), after) if e.audience.includes(alumnus)]
            return {"items": [view(e) for e in found]}

        return await run(request, work)

    @router.get("/events/{event_id}", summary="One event")
    async def one(event_id: str, request: Request, principal: Principal = Depends(requires(READ, SELF))) -> dict:
        async def work(uow: UnitOfWork) -> dict:
            hosted = await _existing(uow, deps, event_id)
            if READ in principal.scopes:
                return view(hosted)
            alumnus = await deps.alumni(uow).get(principal.alumnus_id or "")
            if hosted.status == DRAFT or not hosted.audience.includes(alumnus):
                raise UnknownHostedEvent(f"no event {event_id}")  # an alumnus learns nothing of events not for them
            return view(hosted)

        return await run(request, work)

    @router.get("/events/{event_id}/attendees", summary="Counts per answer, the lists, check-ins and no-shows")
    async def attendees(event_id: str, request: Request, _: Principal = Depends(requires(READ))) -> dict:
        async def work(uow: UnitOfWork) -> dict:
            await _existing(uow, deps, event_id)
            answers = await deps.answers(uow).of_event(event_id)
            checked_in = await deps.check_ins(uow).of_event(event_id)
            lists = {s: [a.alumnus_id for a in answers if a.status == s] for s in STATUSES}
            lists["waitlisted"] = [a.alumnus_id for a in sorted((a for a in answers if a.status == "waitlisted"), key=lambda a: a.ticket or 0)]
            came = set(checked_in)
            return {
                "event_id": event_id, "counts": {s: len(ids) for s, ids in lists.items()} | {"checked_in": len(checked_in)},
                **lists, "checked_in": checked_in, "no_shows": [a for a in lists[GOING] if a not in came],
            }

        return await run(request, work)

    @router.put("/events/{event_id}/rsvp", summary="An alumnus answers (their own token)")
    async def rsvp(event_id: str, body: RsvpRequest, request: Request, principal: Principal = Depends(requires(SELF))) -> dict:
        if principal.alumnus_id is None:
            raise HTTPException(403, "an alumnus answers with their own token")
        response = body.response
        outcome = await run(request, lambda uow: answer(uow, deps, event_id, principal.alumnus_id, response))
        return outcome.view()

    @router.post("/events/{event_id}/check-ins", summary="Record who came")
    async def check_in(event_id: str, body: CheckInRequest, request: Request, _: Principal = Depends(requires(WRITE))) -> dict:
        ids = body.alumnus_ids

        async def work(uow: UnitOfWork) -> dict:
            hosted = await _existing(uow, deps, event_id)
            if hosted.status != PUBLISHED:
                raise EventClosed(f"event {event_id} is not published")
            alumni = deps.alumni(uow)
            known = [a for a in dict.fromkeys(ids) if (found := await alumni.get(a)) is not None and not found.erased]
            recorded = await deps.check_ins(uow).record(event_id, known, uow.now())
            if recorded:
                uow.publish(AttendanceRecorded(event_id=event_id, alumnus_ids=recorded, recorded_at=uow.now()), subject=event_id)
            return {"recorded": recorded, "not_recorded": [a for a in ids if a not in known]}

        return await run(request, work)

    return router
