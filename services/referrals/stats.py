"""`GET /referrals/stats?from=&to=` (`referrals:read`): for the referrals submitted in the
period, how many, how many hired (candidates) or won (clients), the conversion, the median
days from submission to hire; and the bonuses approved (paid ones included) and paid, by currency."""

import statistics
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from fastapi import APIRouter, Depends, HTTPException, Query, Request

from services.referrals.bonuses import APPROVED, PAID
from services.referrals.dependencies import Dependencies
from services.referrals.domain import HIRED, WON
from shared.messaging.uow import UnitOfWork
from shared.web.auth import Principal, requires

READ = "referrals:read"


def stats_router(deps: Dependencies) -> APIRouter:
    router = APIRouter(tags=["referrals"])

    @router.get("/referrals/stats", summary="Referrals submitted, hired or won, conversion, bonuses")
    async def referral_stats(
        request: Request, start: date = Query(default=date(2000, 1, 1), alias="from", ge=date(1900, 1, 1)),
        end: date | None = Query(default=None, alias="to", le=date(2199, 12, 31)), _: Principal = Depends(requires(READ)),
    ) -> dict:
        async def gather(uow: UnitOfWork) -> dict:
            until = end or uow.now().date()
            if until < start:
                raise HTTPException(422, "to: the period ends before it starts")
            begin, stop = datetime.combine(start, time(), UTC), datetime.combine(until + timedelta(days=1), time(), UTC)
            referrals = await deps.referrals(uow).submitted_between(begin, stop)
            converted = [r for r in referrals if r.status in (HIRED, WON) and r.hired_at]
            days = [(r.hired_at - r.submitted_at).total_seconds() / 86400 for r in converted]  # type: ignore[operator]
            bonuses: dict[str, dict[str, Decimal]] = {APPROVED: {}, PAID: {}}
            for referral in referrals:
                for bonus in await deps.bonuses(uow).of_referral(referral.referral_id):
                    for counted in (APPROVED, PAID) if bonus.status == PAID else (APPROVED,) if bonus.status == APPROVED else ():
                        bonuses[counted][bonus.currency] = bonuses[counted].get(bonus.currency, Decimal(0)) + bonus.amount
            return {
                "from": start.isoformat(), "to": until.isoformat(), "submitted": len(referrals),
                "by_kind": {k: sum(r.kind == k for r in referrals) for k in ("candidate", "client")},
                "hired": sum(r.status == HIRED for r in converted), "won": sum(r.status == WON for r in converted),
                "conversion": round(len(converted) / len(referrals), 4) if referrals else None,
                "median_days_to_hire": round(statistics.median(days), 1) if days else None,
                "bonuses": {status: {c: str(v) for c, v in sums.items()} for status, sums in bonuses.items()},
            }

        return await request.app.state.runtime.transactions.run(gather)

    return router
