"""The referrals HTTP API.

Scopes: `referrals:read` < `referrals:write` < `referrals:admin`, and an alumnus's own token
(`alumni:self`), which submits, lists and reads only that alumnus's referrals (another's is
answered 404, as if it did not exist). Domain errors become statuses here: a broken rule 422
naming the field, a duplicate 409 (never saying whose), a referrer who is not an alumnus 403.
"""

from typing import Any, Literal

from fastapi import APIRouter, Body, Depends, HTTPException, Path, Query, Request
from pydantic import BaseModel, ConfigDict

from services.referrals.ats.api import ats_router
from services.referrals.bonus_api import bonus_router, bonus_view
from services.referrals.dependencies import Dependencies
from services.referrals.domain import AlreadyReferred, MoveRefused, NotAnAlumnus, Referral, ReferralRefused, claim_key
from services.referrals.progress import moved
from services.referrals.repository import ReferralQuery
from services.referrals.stats import stats_router
from services.referrals.submission import Money, Submission, submit
from shared.events.types import Identifier
from shared.messaging.uow import UnitOfWork
from shared.web.auth import SELF, Principal, authenticated, requires
from shared.web.personal_data import Gather, PersonalDataQuery

READ, WRITE, ADMIN = "referrals:read", "referrals:write", "referrals:admin"
MAX_PAGE = 10_000
ReferralId = Path(min_length=1, max_length=128)
Status = Literal["submitted", "in_review", "interviewing", "offer", "hired", "rejected", "withdrawn", "qualified", "won", "lost", "expired"]


class Move(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: Literal["qualified", "won", "lost", "withdrawn"]
    deal_value: Money | None = None


def view(r: Referral) -> dict[str, Any]:
    return {
        "referral_id": r.referral_id, "kind": r.kind, "status": r.status, "alumnus_id": r.alumnus_id,
        "submitted_at": r.submitted_at.isoformat(), "moved_at": r.moved_at.isoformat() if r.moved_at else None,
        **r.details, "application_id": r.application_id, "deal_value": r.deal_value,
        "personal_data_deleted": r.data_deleted_at is not None,
        "history": [{"status": h["status"], "at": h["at"].isoformat(), "source": h["source"]} for h in r.history],
    }


def _as_hire(r: Referral) -> dict[str, Any]:
    """A referral seen by the candidate it hired: who referred them, and what the referrer wrote
    about them, are the referrer's (HR reads the referral itself if a request calls for them)."""
    held = {k: v for k, v in view(r).items() if k not in ("alumnus_id", "note", "history")}
    return held | {"employee_id": r.employee_id, "hired_at": r.hired_at.isoformat() if r.hired_at else None,
                   "history": [{"status": h["status"], "at": h["at"].isoformat()} for h in r.history]}


def personal_data(deps: Dependencies) -> Gather:
    """What referrals holds about a person. As a referrer: the projection, the referrals they made
    (the candidate's or client's details as they entered them: they supplied them) and their
    bonuses. By employee id: the referrals that led to their hire, as `_as_hire` shows them."""

    async def gather(uow: UnitOfWork, query: PersonalDataQuery) -> dict:
        referrals, referrer, made, bonuses = deps.referrals(uow), None, [], []
        if query.alumnus_id:
            referrer = await deps.referrers(uow).get(query.alumnus_id)
            made = [view(r) for r in await referrals.of_referrer(query.alumnus_id)]
            bonuses = [{k: v for k, v in bonus_view(b).items() if k != "decided_by"} for b in await deps.bonuses(uow).of_referrer(query.alumnus_id)]
        hired = {r.referral_id: r for e in query.employee_ids for r in await referrals.hires(e, []) if r.employee_id == e}
        return {
            "referrer": {"alumnus_id": referrer.alumnus_id, "email": referrer.email, "erased_at": referrer.erased_at} if referrer else None,
            "referrals": made, "bonuses": bonuses, "hired_through_referrals": [_as_hire(r) for r in hired.values()],
        }

    return gather


def refused(exc: ReferralRefused) -> HTTPException:
    return HTTPException(422, {"message": f"{exc.field}: {exc}", "errors": [{"field": exc.field, "message": str(exc)}]})


def _referrer_of(principal: Principal, named: str | None) -> str:
    """Whose referral a request submits: the alumnus's own, or the one a recruiter names."""
    if principal.alumnus_id is not None:
        if named not in (None, principal.alumnus_id):
            raise HTTPException(403, "an alumnus submits referrals of their own only")
        return principal.alumnus_id
    if not principal.scopes & {WRITE, ADMIN}:
        raise HTTPException(403, f"this needs the scope {WRITE}, or the alumnus's own token")
    if named is None:
        raise HTTPException(422, {"message": "alumnus_id: a recruiter names the alumnus who refers",
                                  "errors": [{"field": "alumnus_id", "message": "required with a staff token"}]})
    return named


def _may_read(principal: Principal, referral: Referral) -> bool:
    return bool(principal.scopes & {READ, WRITE, ADMIN}) or (principal.alumnus_id is not None and principal.alumnus_id == referral.alumnus_id)


def http_router(deps: Dependencies) -> APIRouter:
    router = APIRouter(tags=["referrals"])
    router.include_router(stats_router(deps))

    @router.post("/referrals", status_code=201, summary="Refer a candidate or a client")
    async def refer(request: Request, body: Submission = Body(), principal: Principal = Depends(authenticated)) -> dict:
        alumnus_id = _referrer_of(principal, body.alumnus_id)
        key = claim_key(body.kind, body.candidate_email if body.kind == "candidate" else body.company)  # type: ignore[union-attr]
        by = "alumnus" if principal.alumnus_id else f"staff:{principal.subject}"

        async def work(uow: UnitOfWork) -> dict:
            referrals = deps.referrals(uow)
            holder = await referrals.claim_holder(key)
            referral, referred = submit(body, await deps.referrers(uow).get(alumnus_id), holder, referral_id=deps.new_referral_id(),
                                        now=uow.now(), validity=deps.validity, submitted_by=by)
            await referrals.claim(key, referral.referral_id, holder.referral_id if holder else None)
            await referrals.save(referral)
            uow.publish(referred, subject=referral.referral_id)
            return view(referral)

        try:
            return await request.app.state.runtime.transactions.run(work)
        except ReferralRefused as exc:
            raise refused(exc) from None
        except AlreadyReferred as exc:
            raise HTTPException(409, str(exc)) from None
        except NotAnAlumnus as exc:
            raise HTTPException(403, str(exc)) from None

    @router.get("/referrals", summary="Referrals, filtered and paginated; an alumnus sees their own")
    async def list_referrals(
        request: Request, alumnus_id: Identifier | None = None, status: Status | None = None,
        kind: str | None = Query(default=None, pattern="^(candidate|client)$"),
        page: int = Query(default=1, ge=1, le=MAX_PAGE), page_size: int = Query(default=20, ge=1, le=100),
        principal: Principal = Depends(requires(READ, WRITE, ADMIN, SELF)),
    ) -> dict:
        if principal.alumnus_id is not None and not principal.scopes & {READ, WRITE, ADMIN}:
            if alumnus_id not in (None, principal.alumnus_id):
                raise HTTPException(403, "an alumnus sees their own referrals only")
            alumnus_id = principal.alumnus_id
        query = ReferralQuery(alumnus_id, status, kind, page, page_size)

        async def read(uow: UnitOfWork) -> dict:
            total, found = await deps.referrals(uow).find(query)
            return {"total": total, "page": page, "page_size": page_size, "items": [view(r) for r in found]}

        return await request.app.state.runtime.transactions.run(read)

    @router.get("/referrals/{referral_id}", summary="A referral")
    async def read_referral(request: Request, referral_id: str = ReferralId, principal: Principal = Depends(authenticated)) -> dict:
        async def read(uow: UnitOfWork) -> dict:
            referral = await deps.referrals(uow).get(referral_id)
            if referral is None or not _may_read(principal, referral):
                raise HTTPException(404, f"no referral {referral_id}")
            return view(referral)

        return await request.app.state.runtime.transactions.run(read)

    @router.patch("/referrals/{referral_id}", summary="Move a client referral, or withdraw any referral")
    async def move(change: Move, request: Request, referral_id: str = ReferralId, principal: Principal = Depends(authenticated)) -> dict:
        async def work(uow: UnitOfWork) -> dict:
            referral = await deps.referrals(uow).get(referral_id)
            if referral is None or not _may_read(principal, referral):
                raise HTTPException(404, f"no referral {referral_id}")
            own_withdrawal = change.status == "withdrawn" and principal.alumnus_id == referral.alumnus_id
            if not (principal.scopes & {WRITE, ADMIN} or own_withdrawal):
                raise HTTPException(403, f"this needs the scope {WRITE} (a referrer may withdraw their own)")
            deal = change.deal_value.model_dump(mode="json") if change.deal_value else None
            changed = referral.move(change.status, uow.now(), deal_value=deal)
            await moved(deps, uow, referral, changed)
            return view(referral)

        try:
            return await request.app.state.runtime.transactions.run(work)
        except ReferralRefused as exc:
            raise refused(exc) from None
        except MoveRefused as exc:
            raise HTTPException(409, str(exc)) from None

    @router.delete("/candidates", summary="Erase a candidate's data on their request (the email is redacted from spans)")
    async def erase_candidate(request: Request, email: str = Query(min_length=3, max_length=254), _: Principal = Depends(requires(ADMIN))) -> dict:
        async def work(uow: UnitOfWork) -> dict:
            referrals = deps.referrals(uow)
            theirs = await referrals.of_candidate(email)
            for referral in theirs:
                referral.delete_personal_data(uow.now())
                await referrals.save(referral)
                await referrals.release(referral.referral_id)
            return {"referrals": len(theirs), "erased_at": uow.now().isoformat()}

        return await request.app.state.runtime.transactions.run(work)

    router.include_router(bonus_router(deps))
    router.include_router(ats_router(deps))
    return router

