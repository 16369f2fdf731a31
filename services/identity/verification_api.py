"""Identity's HTTP API for trust in personal emails (included by api.py):

- `GET /email-confirmation/{token}`: the page asking the owner of an address to confirm it
  (mail scanners open links: nothing changes); `POST` confirms (a form post, or JSON). An
  unknown link is 404; a used, expired or superseded one 410.
- `POST /alumni/{id}/email-confirmation`: a new link to the record's unverified address.
- `GET /merge-reviews`, `GET /merge-reviews/{id}`, `POST /merge-reviews/{id}/resolution`: HR's
  reviews of leavers whose address matched a record that could not be trusted for merging.
"""

from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from pydantic import BaseModel, ConfigDict

from services.identity.confirmations import confirm, request_confirmation, resolve_review, show_confirmation
from services.identity.dependencies import Dependencies
from services.identity.verification import (
    ConfirmationExpired,
    ConfirmationRefused,
    ConfirmationSuperseded,
    ConfirmationUsed,
    Decision,
    MergeReview,
    ReviewClosed,
    UnknownConfirmation,
    UnknownReview,
)
from shared.messaging.uow import UnitOfWork
from shared.web.auth import Principal, requires, requires_for_alumnus

WRITE, ADMIN = "alumni:write", "alumni:admin"
REFUSALS: dict[type[ConfirmationRefused], tuple[int, str]] = {
    UnknownConfirmation: (404, "link_unknown"),
    ConfirmationUsed: (410, "link_used"),
    ConfirmationExpired: (410, "link_expired"),
    ConfirmationSuperseded: (410, "link_superseded"),
}


class Resolution(BaseModel):
    model_config = ConfigDict(extra="forbid")

    decision: Decision


def _review_view(r: MergeReview) -> dict[str, Any]:
    """What HR needs to decide: the leaver's name and stint beside the record's id."""
    leaver = r.completed.leaver if r.completed else None
    return {
        "review_id": r.review_id, "employee_id": r.employee_id, "hire_date": r.hire_date.isoformat(), "alumnus_id": r.alumnus_id,
        "opened_at": r.opened_at.isoformat(), "status": "open" if r.is_open else "resolved",
        "leaver": {"first_name": leaver.first_name, "last_name": leaver.last_name} if leaver else None,
        "decision": r.decision.value if r.decision else None, "resolved_by": r.resolved_by,
        "resolved_at": r.resolved_at.isoformat() if r.resolved_at else None,
    }


def _language(request: Request) -> str:
    return "fr" if request.headers.get("accept-language", "").lower().startswith("fr") else "en"


def verification_router(deps: Dependencies) -> APIRouter:
    router = APIRouter()

    def refusal(refused: ConfirmationRefused, request: Request, wants_json: bool) -> Response:
        status, page = next(answer for kind, answer in REFUSALS.items() if isinstance(refused, kind))
        if wants_json:
            return JSONResponse({"detail": str(refused)}, status_code=status)
        return HTMLResponse(deps.pages.render(page, refused.locale or _language(request)), status_code=status)

    @router.get("/email-confirmation/{token}", response_class=HTMLResponse, tags=["email confirmation"], summary="The page confirming a personal email")
    async def show(token: str, request: Request) -> Response:
        async def load(uow: UnitOfWork) -> tuple[str, str]:
            alumnus = await show_confirmation(uow, deps, token)
            return alumnus.profile.first_name, alumnus.profile.locale.value

        try:
            first_name, locale = await request.app.state.runtime.transactions.run(load)
        except ConfirmationRefused as refused:
            return refusal(refused, request, wants_json=False)
        return HTMLResponse(deps.pages.render("confirm_email", locale, first_name=first_name))

    @router.post("/email-confirmation/{token}", tags=["email confirmation"], summary="Confirm a personal email (form post or JSON)")
    async def confirmed(token: str, request: Request) -> Response:
        wants_json = request.headers.get("content-type", "").startswith("application/json")

        async def work(uow: UnitOfWork) -> str:
            return (await confirm(uow, deps, token)).profile.locale.value

        try:
            locale = await request.app.state.runtime.transactions.run(work)
        except ConfirmationRefused as refused:
            return refusal(refused, request, wants_json)
        if wants_json:
            return JSONResponse({"status": "confirmed"})
        return HTMLResponse(deps.pages.render("email_confirmed", locale))

    @router.post("/alumni/{alumnus_id}/email-confirmation", status_code=202, tags=["alumni"], summary="Send a new link to confirm the record's personal email")
    async def again(alumnus_id: str, request: Request, _: Principal = Depends(requires_for_alumnus(WRITE, ADMIN))) -> dict:
        async def work(uow: UnitOfWork) -> bool:
            alumnus = await deps.alumni(uow).get(alumnus_id)
            if alumnus is None:
                raise HTTPException(404, f"no alumnus {alumnus_id}")
            return await request_confirmation(uow, deps, alumnus, None, again=True)

        if not await request.app.state.runtime.transactions.run(work):
            raise HTTPException(409, "the record has no personal email waiting for confirmation")
        return {"requested": True}

    @router.get("/merge-reviews", tags=["merge reviews"], summary="Leavers waiting for HR's decision (or every review)")
    async def reviews(request: Request, status: str = Query(default="open", pattern="^(open|all)$"), limit: int = Query(default=100, ge=1, le=500),
                      _: Principal = Depends(requires(ADMIN))) -> dict:
        async def work(uow: UnitOfWork) -> list[MergeReview]:
            return await deps.reviews(uow).listed(status == "open", limit)

        return {"items": [_review_view(r) for r in await request.app.state.runtime.transactions.run(work)]}

    @router.get("/merge-reviews/{review_id}", tags=["merge reviews"], summary="One merge review")
    async def review(review_id: str, request: Request, _: Principal = Depends(requires(ADMIN))) -> dict:
        async def work(uow: UnitOfWork) -> MergeReview | None:
            return await deps.reviews(uow).get(review_id)

        if (found := await request.app.state.runtime.transactions.run(work)) is None:
            raise HTTPException(404, f"no merge review {review_id}")
        return _review_view(found)

    @router.post("/merge-reviews/{review_id}/resolution", tags=["merge reviews"], summary="HR decides: merge into the record, or keep separate")
    async def resolve(review_id: str, resolution: Resolution, request: Request, principal: Principal = Depends(requires(ADMIN))) -> dict:
        async def work(uow: UnitOfWork) -> str:
            return await resolve_review(uow, deps, review_id, resolution.decision, f"staff:{principal.subject}")

        try:
            alumnus_id = await request.app.state.runtime.transactions.run(work)
        except UnknownReview as exc:
            raise HTTPException(404, str(exc)) from None
        except ReviewClosed as exc:
            raise HTTPException(409, str(exc)) from None
        return {"review_id": review_id, "decision": resolution.decision.value, "alumnus_id": alumnus_id}

    return router
