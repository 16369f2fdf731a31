"""The notifications HTTP API: the delivery audit, template previews, and unsubscribe links."""

from html import escape

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import HTMLResponse

from services.notifications.dependencies import Dependencies
from services.notifications.domain import Delivery, ReachableAlumnus
from services.notifications.samples import SAMPLES, sample_context
from services.notifications.templating import TemplateError
from services.notifications.unsubscribe import ExpiredToken, InvalidToken
from shared.web.auth import Principal, requires
from shared.events.notifications import UnsubscribeRequested
from shared.messaging.uow import UnitOfWork
from shared.web.personal_data import Gather, PersonalDataQuery

READ = "alumni:read"


def personal_data(deps: Dependencies) -> Gather:
    """What notifications holds about a person: the projection, RSVPs and deliveries of the
    alumnus, the events parked until they register here, and the deliveries to the leaver (by
    employee id) before they were one."""

    async def gather(uow: UnitOfWork, query: PersonalDataQuery) -> dict:
        held = await deps.reachable(uow).held(query.alumnus_id) if query.alumnus_id else {"reachable_alumnus": None, "rsvps": []}
        recipients = ([query.alumnus_id] if query.alumnus_id else []) + list(query.employee_ids)
        parked = await deps.waiting(uow).held([query.alumnus_id]) if query.alumnus_id else []
        return held | {"deliveries": await deps.deliveries(uow).held(recipients), "parked_events": parked}

    return gather


def http_router(deps: Dependencies) -> APIRouter:
    router = APIRouter()
    templates = deps.templates

    @router.get("/deliveries", tags=["audit"], summary="Deliveries to one alumnus, or of one event, with their status")
    async def deliveries(
        request: Request,
        alumnus_id: str | None = None,
        event_id: str | None = None,
        limit: int = Query(default=100, ge=1, le=1000),
        _: Principal = Depends(requires(READ)),
    ) -> dict:
        if (alumnus_id is None) == (event_id is None):
            raise HTTPException(422, "give exactly one of alumnus_id and event_id")

        async def find(uow: UnitOfWork) -> list[Delivery]:
            deliveries = deps.deliveries(uow)
            if alumnus_id is not None:
                return await deliveries.to_recipient(alumnus_id, limit)
            return await deliveries.of_event(event_id, limit)

        found = await request.app.state.runtime.transactions.run(find)
        return {"items": [_delivery(d) for d in found]}

    @router.get("/templates/{template}/preview", tags=["templates"], summary="A template rendered for a sample event")
    async def preview(template: str, locale: str = Query(default="en", pattern="^(en|fr)$"), _: Principal = Depends(requires(READ))) -> dict:
        route = next((r for r in deps.planning.table.routes if r.template == template), None)
        if route is None or route.event not in SAMPLES:
            raise HTTPException(404, f"no template {template!r} in the routing table")
        context = sample_context(route.event, locale, consent_gated=route.purpose is not None)
        try:
            if route.channel == "chat":
                return {"template": template, "locale": locale, "event_type": route.event, "text": templates.chat(template, locale, context)}
            email = templates.email(template, locale, context)
        except TemplateError as exc:
            raise HTTPException(500, str(exc)) from None
        return {"template": template, "locale": locale, "event_type": route.event, "subject": email.subject, "text": email.text, "html": email.html}

    @router.get("/unsubscribe/{token}", tags=["unsubscribe"], response_class=HTMLResponse, summary="Confirm unsubscribing")
    async def confirm(token: str, request: Request) -> HTMLResponse:
        # Reading the link changes nothing (mail scanners open links); the button posts.
        try:
            _, purpose = deps.unsubscribe.read(token, request.app.state.runtime.clock())
        except InvalidToken as exc:
            return HTMLResponse(f"<p>{escape(str(exc))}</p>", status_code=404)
        except ExpiredToken as exc:
            return HTMLResponse(f"<p>{escape(str(exc))}</p>", status_code=410)
        return HTMLResponse(
            f'<!doctype html><html><body><form method="post"><p>Stop receiving {escape(purpose.value)} messages?</p>'
            '<button type="submit">Unsubscribe</button></form></body></html>'
        )

    @router.post("/unsubscribe/{token}", tags=["unsubscribe"], summary="One-click unsubscribe (RFC 8058)")
    async def unsubscribe(token: str, request: Request) -> dict:
        try:
            alumnus_id, purpose = deps.unsubscribe.read(token, request.app.state.runtime.clock())
        except InvalidToken as exc:
            raise HTTPException(404, str(exc)) from None
        except ExpiredToken as exc:
            raise HTTPException(410, str(exc)) from None

        async def withdraw(uow: UnitOfWork) -> None:
            # Honoured here at once; identity records it in the consent ledger.
            reachable = deps.reachable(uow)
            alumnus = await reachable.get(alumnus_id) or ReachableAlumnus(alumnus_id)
            if alumnus.set_consent(purpose, False):
                await reachable.save(alumnus)
            uow.publish(UnsubscribeRequested(alumnus_id=alumnus_id, purpose=purpose, requested_at=uow.now()), subject=alumnus_id)

        await request.app.state.runtime.transactions.run(withdraw)
        return {"unsubscribed": purpose.value}

    return router


def _delivery(d: Delivery) -> dict:
    return {
        "delivery_id": d.delivery_id,
        "source_event_id": d.source_event_id,
        "source_event_type": d.source_event_type,
        "recipient_kind": d.recipient_kind,
        "recipient_id": d.recipient_id,
        "channel": d.channel,
        "template": d.template,
        "status": d.status,
        "reason": d.reason,
        "created_at": d.created_at.isoformat(),
        "settled_at": d.settled_at.isoformat() if d.settled_at else None,
    }
