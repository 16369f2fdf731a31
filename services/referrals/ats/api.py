"""`POST /webhooks/ats/{source}`: application statuses from applicant tracking systems, in the
manner of the HRIS intake. The body is bound (413 past `HTTP_MAX_BODY_BYTES`) before anything
reads it; the signature is checked, then freshness, then that the request was never received
(its marker is keyed on the canonical signature, so a padded header is still a replay); the
payload is read as `ApplicationStatusChanged` (a Lever opportunity's email read from Lever's
API when the source has a key; 503 with `Retry-After` when that API fails) and published through the outbox to
`ats.application.status-changed` with `ce_source` `/ats/{source}`, answered 202. The consumer
matches it to a referral, as for any application status on that topic.

`GET /ats/unmatched` (`referrals:read`): the applications that matched no referral.
"""

import hashlib
import json

import pydantic
from fastapi import APIRouter, Depends, HTTPException, Query, Request

from services.referrals.ats.formats import READERS, PayloadRefused
from services.referrals.ats.lever_api import VendorUnavailable, with_candidate_email
from services.referrals.ats.repository import Replayed
from services.referrals.ats.signatures import SignatureRefused, verify_generic, verify_greenhouse, verify_lever
from services.referrals.dependencies import Dependencies
from shared.messaging.uow import UnitOfWork
from shared.web.auth import Principal, requires

REPLAYED = "this request was received before: a replay is refused"
VERIFY = {"generic": verify_generic, "greenhouse": verify_greenhouse, "lever": verify_lever}
READ = "referrals:read"


def invalid(exc: pydantic.ValidationError) -> HTTPException:
    errors = [
        {"field": ".".join(str(p) for p in e["loc"]) or "(payload)", "message": e["msg"]}
        for e in exc.errors(include_input=False, include_url=False)
    ]
    summary = "; ".join(f"{e['field']}: {e['message']}" for e in errors)
    return HTTPException(422, {"message": f"invalid payload: {summary}", "errors": errors})


def ats_router(deps: Dependencies) -> APIRouter:
    router = APIRouter(tags=["ATS"])

    @router.post("/webhooks/ats/{source_name}", status_code=202, summary="An application's status, in the contract's form or a vendor's")
    async def receive(source_name: str, request: Request) -> dict:
        source = deps.ats_sources.get(source_name)
        if source is None:
            raise HTTPException(404, f"unknown ATS source {source_name!r}")
        runtime = request.app.state.runtime
        body = await request.body()
        try:
            replay_key, keep = VERIFY[source.kind](request.headers, body, source.secret.get_secret_value(), runtime.clock(),
                                                   deps.webhook_tolerance_seconds)
        except SignatureRefused as exc:
            raise HTTPException(401, str(exc)) from None
        marker = hashlib.sha256(f"ats:{source_name}:{replay_key}".encode()).hexdigest()

        async def seen(uow: UnitOfWork) -> bool:
            return await deps.webhook_requests(uow).seen(marker)

        if await runtime.transactions.run(seen):
            raise HTTPException(401, REPLAYED)
        try:
            payload = json.loads(body)
        except ValueError as exc:
            raise HTTPException(422, {"message": f"the body is not JSON: {exc}", "errors": []}) from None
        if not isinstance(payload, dict):
            raise HTTPException(422, {"message": "the body is not a JSON object", "errors": []})
        try:
            event = READERS[source.kind](source, payload, runtime.clock())
            event = event and await with_candidate_email(source, event, deps.ats_api)
        except pydantic.ValidationError as exc:
            raise invalid(exc) from None
        except PayloadRefused as exc:
            raise HTTPException(422, {"message": str(exc), "errors": []}) from None
        except VendorUnavailable as exc:
            raise HTTPException(503, f"the ATS's API is unavailable, try again: {exc}", headers={"Retry-After": "30"}) from None

        async def publish(uow: UnitOfWork) -> str | None:
            await deps.webhook_requests(uow).remember(marker, keep)  # a concurrent replay fails here
            return uow.publish(event, subject=event.key, source=f"/ats/{source_name}").id if event else None

        try:
            event_id = await runtime.transactions.run(publish)
        except Replayed:
            raise HTTPException(401, REPLAYED) from None
        return {"event_id": event_id, "ignored": event is None}

    @router.get("/ats/unmatched", summary="Applications the ATS reported that matched no referral")
    async def unmatched(request: Request, limit: int = Query(default=100, ge=1, le=1000), _: Principal = Depends(requires(READ))) -> dict:
        async def read(uow: UnitOfWork) -> dict:
            total, items = await deps.unmatched(uow).recent(limit)
            return {"total": total, "items": items}

        return await request.app.state.runtime.transactions.run(read)

    return router
