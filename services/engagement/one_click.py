"""The one-click answers of an invitation: `/rsvp/<token>`, a signed link per alumnus, event and
answer (yes, no, maybe), made by notifications when it sends the invitation and expiring when the
event starts. `GET` shows a confirmation page in the alumnus's language (mail scanners open
links: nothing is recorded), `POST` records the answer. A forged link is 404, an expired one 410;
the path is redacted in spans (it holds the token)."""

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from services.engagement.answering import Outcome, answer
from services.engagement.dependencies import Dependencies
from services.engagement.domain import EngagementError, EventClosed, NotInAudience, UnknownHostedEvent
from shared.links import ExpiredLink, InvalidLink
from shared.messaging.uow import UnitOfWork

REFUSED = {UnknownHostedEvent: (404, "unknown"), NotInAudience: (403, "outside"), EventClosed: (409, "closed")}


def _language(request: Request) -> str:
    return "fr" if request.headers.get("accept-language", "").lower().startswith("fr") else "en"


def one_click_router(deps: Dependencies) -> APIRouter:
    router = APIRouter(tags=["one-click answers"])

    def refused(reason: str, status: int, locale: str) -> HTMLResponse:
        return HTMLResponse(deps.pages.render("refused", locale, reason=reason), status_code=status)

    async def locale_of(request: Request, alumnus_id: str) -> str:
        async def work(uow: UnitOfWork) -> str | None:
            alumnus = await deps.alumni(uow).get(alumnus_id)
            return alumnus.locale if alumnus and not alumnus.erased else None

        return await request.app.state.runtime.transactions.run(work) or _language(request)

    def link(request: Request, token: str) -> tuple[str, str, str] | HTMLResponse:
        try:
            return deps.rsvp_links.read(token, request.app.state.runtime.clock())
        except InvalidLink:
            return refused("unknown", 404, _language(request))
        except ExpiredLink:
            return refused("expired", 410, _language(request))

    async def title_of(request: Request, event_id: str) -> str | None:
        async def work(uow: UnitOfWork) -> str | None:
            hosted = await deps.hosted_events(uow).get(event_id)
            return hosted.title if hosted else None

        return await request.app.state.runtime.transactions.run(work)

    @router.get("/rsvp/{token}", response_class=HTMLResponse, summary="The confirmation page of a one-click answer")
    async def confirm(token: str, request: Request) -> HTMLResponse:
        found = link(request, token)
        if isinstance(found, HTMLResponse):
            return found
        event_id, alumnus_id, response = found
        locale = await locale_of(request, alumnus_id)
        title = await title_of(request, event_id)
        if title is None:
            return refused("unknown", 404, locale)
        return HTMLResponse(deps.pages.render("confirm", locale, title=title, response=response))

    @router.post("/rsvp/{token}", response_class=HTMLResponse, summary="Record a one-click answer")
    async def record(token: str, request: Request) -> HTMLResponse:
        found = link(request, token)
        if isinstance(found, HTMLResponse):
            return found
        event_id, alumnus_id, response = found
        locale = await locale_of(request, alumnus_id)
        try:
            outcome: Outcome = await request.app.state.runtime.transactions.run(lambda uow: answer(uow, deps, event_id, alumnus_id, response))
        except EngagementError as exc:
            status, reason = next(v for kind, v in REFUSED.items() if isinstance(exc, kind))
            return refused(reason, status, locale)
        return HTMLResponse(deps.pages.render(
            "recorded", locale, title=outcome.title, status=outcome.answer.status, position=outcome.waitlist_position,
        ))

    return router
