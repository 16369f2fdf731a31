"""Bonuses over HTTP (`referrals:admin`): the list (`Accept: text/csv` on the approved ones is
the payroll export), approval (which publishes `ReferralBonusEarned`: the referrer gets the
email), rejection with a reason, and the mark that payroll paid it. A decision is written only
if the bonus is still in the status it was read in, so two managers deciding at once cannot
both succeed (the second gets 409)."""

import csv
import io
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, StringConstraints

from services.referrals.bonuses import APPROVED, PAID, REJECTED, STATUSES, Bonus, DecisionRefused
from services.referrals.dependencies import Dependencies
from shared.messaging.uow import UnitOfWork
from shared.web.auth import Principal, requires

ADMIN = "referrals:admin"
BonusId = Path(min_length=1, max_length=128)
CSV_COLUMNS = ("bonus_id", "referral_id", "alumnus_id", "milestone", "due_on", "amount", "currency", "status", "decided_at")


class Rejection(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]


def bonus_view(b: Bonus) -> dict[str, Any]:
    return {
        "bonus_id": b.bonus_id, "referral_id": b.referral_id, "alumnus_id": b.alumnus_id, "milestone": b.milestone,
        "due_on": b.due_on.isoformat(), "amount": str(b.amount), "currency": b.currency, "status": b.status,
        "decided_at": b.decided_at.isoformat() if b.decided_at else None, "decided_by": b.decided_by, "reason": b.reason,
    }


def payroll_csv(bonuses: list[Bonus]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for bonus in bonuses:
        writer.writerow(bonus_view(bonus))
    return out.getvalue()


def bonus_router(deps: Dependencies) -> APIRouter:
    router = APIRouter(tags=["bonuses"])

    @router.get("/bonuses", summary="Bonuses by status; as text/csv, the payroll export")
    async def list_bonuses(
        request: Request, status: str | None = Query(default=None, pattern="^(" + "|".join(STATUSES) + ")$"),
        referral_id: str | None = Query(default=None, max_length=128), limit: int = Query(default=1000, ge=1, le=10_000),
        _: Principal = Depends(requires(ADMIN)),
    ) -> Any:
        async def read(uow: UnitOfWork) -> list[Bonus]:
            return await deps.bonuses(uow).find(status, referral_id, limit)

        found = await request.app.state.runtime.transactions.run(read)
        if "text/csv" in request.headers.get("accept", ""):
            return Response(payroll_csv(found), media_type="text/csv; charset=utf-8",
                            headers={"Content-Disposition": f'attachment; filename="bonuses-{status or "all"}.csv"'})
        return {"items": [bonus_view(b) for b in found]}

    async def decide(request: Request, bonus_id: str, decision: str, principal: Principal, reason: str | None = None) -> dict:
        async def work(uow: UnitOfWork) -> dict:
            bonuses = deps.bonuses(uow)
            bonus = await bonuses.get(bonus_id)
            if bonus is None:
                raise HTTPException(404, f"no bonus {bonus_id}")
            was = bonus.status
            earned = bonus.decide(decision, uow.now(), f"staff:{principal.subject}", reason)
            if not await bonuses.save(bonus, was=was):
                raise DecisionRefused(f"the bonus is no longer {was}")
            if earned is not None:
                uow.publish(earned, subject=bonus.referral_id)
            return bonus_view(bonus)

        try:
            return await request.app.state.runtime.transactions.run(work)
        except DecisionRefused as exc:
            raise HTTPException(409, str(exc)) from None

    @router.post("/bonuses/{bonus_id}/approve", summary="Approve a bonus due: the referrer is told")
    async def approve(request: Request, bonus_id: str = BonusId, principal: Principal = Depends(requires(ADMIN))) -> dict:
        return await decide(request, bonus_id, APPROVED, principal)

    @router.post("/bonuses/{bonus_id}/reject", summary="Reject a bonus due, with the reason")
    async def reject(rejection: Rejection, request: Request, bonus_id: str = BonusId, principal: Principal = Depends(requires(ADMIN))) -> dict:
        return await decide(request, bonus_id, REJECTED, principal, rejection.reason)

    @router.post("/bonuses/{bonus_id}/paid", summary="Payroll paid an approved bonus")
    async def paid(request: Request, bonus_id: str = BonusId, principal: Principal = Depends(requires(ADMIN))) -> dict:
        return await decide(request, bonus_id, PAID, principal)

    return router
