"""`POST /webhooks/hris/{source}`: departures from HR systems that cannot write to Kafka.

The request is checked (signature, freshness, never twice), read (the contract's payload for a
generic source, the vendor's for BambooHR and HiBob), then published through the outbox to
`hris.employee.departed` (or `...departure-cancelled`) with `ce_source` `/hris/{source}`, and
answered 202 with the event id; the Kafka consumer takes it from there, as for any departure.
"""

import hashlib
import json
from collections.abc import Awaitable, Callable

import httpx
import pydantic
from fastapi import APIRouter, HTTPException, Request

from services.offboarding.dependencies import Dependencies
from services.offboarding.intake import bamboohr, hibob
from services.offboarding.intake.signatures import Replayed, SignatureRefused, verify_bamboohr, verify_generic, verify_hibob
from services.offboarding.intake.sources import HrisSource
from services.offboarding.intake.vendors import PayloadRefused, VendorUnavailable
from shared.events.base import Event
from shared.events.hris import EmployeeDeparted, EmployeeDepartureCancelled
from shared.messaging.uow import UnitOfWork

REPLAYED = "this request was received before: a replay is refused"

Verify = Callable[..., str]
Read = Callable[[HrisSource, dict, httpx.AsyncClient], Awaitable[list[Event]]]


async def _read_departure(source: HrisSource, payload: dict, http: httpx.AsyncClient) -> list[Event]:
    return [EmployeeDeparted.model_validate(payload)]


async def _read_cancellation(source: HrisSource, payload: dict, http: httpx.AsyncClient) -> list[Event]:
    return [EmployeeDepartureCancelled.model_validate(payload)]


# (source kind, webhook path) -> how to check the signature, how to read the payload
WEBHOOK_FORMATS: dict[tuple[str, str], tuple[Verify, Read]] = {
    ("generic", "departures"): (verify_generic, _read_departure),
    ("generic", "cancellations"): (verify_generic, _read_cancellation),
    ("bamboohr", "departures"): (verify_bamboohr, bamboohr.read),
    ("hibob", "departures"): (verify_hibob, hibob.read),
}


def _invalid(exc: pydantic.ValidationError) -> HTTPException:
    errors = [
        {"field": ".".join(str(p) for p in e["loc"]) or "(payload)", "message": e["msg"]}
        for e in exc.errors(include_input=False, include_url=False)
    ]
    summary = "; ".join(f"{e['field']}: {e['message']}" for e in errors)
    return HTTPException(422, {"message": f"invalid payload: {summary}", "errors": errors})


def webhook_router(deps: Dependencies) -> APIRouter:
    router = APIRouter(prefix="/webhooks/hris", tags=["HRIS webhooks"])

    async def receive(source_name: str, path: str, request: Request) -> dict:
        source = deps.hris_sources.get(source_name)
        if source is None:
            raise HTTPException(404, f"unknown HRIS source {source_name!r}")
        if (source.kind, path) not in WEBHOOK_FORMATS:
            raise HTTPException(404, f"a {source.kind} source has no {path} webhook")
        verify, read = WEBHOOK_FORMATS[(source.kind, path)]
        runtime = request.app.state.runtime
        body = await request.body()
        try:
            replay_key = verify(request.headers, body, source.secret.get_secret_value(), runtime.clock(), deps.webhook_tolerance_seconds)
        except SignatureRefused as exc:
            raise HTTPException(401, str(exc)) from None
        marker = hashlib.sha256(f"{source_name}:{replay_key}".encode()).hexdigest()

        async def seen(uow: UnitOfWork) -> bool:
            return await deps.webhook_requests(uow).seen(marker)

        if await runtime.transactions.run(seen):
            raise HTTPException(401, REPLAYED)  # before any call to the vendor's API
        try:
            payload = json.loads(body)
        except ValueError as exc:
            raise HTTPException(422, {"message": f"the body is not JSON: {exc}", "errors": []}) from None
        if not isinstance(payload, dict):
            raise HTTPException(422, {"message": "the body is not a JSON object", "errors": []})
        try:
            events = await read(source, payload, deps.vendor_api)
        except pydantic.ValidationError as exc:
            raise _invalid(exc) from None
        except PayloadRefused as exc:
            raise HTTPException(422, {"message": str(exc), "errors": []}) from None
        except VendorUnavailable as exc:
            raise HTTPException(503, f"the HR system's API is unavailable, try again: {exc}", headers={"Retry-After": "30"}) from None

        async def publish(uow: UnitOfWork) -> list[str]:
            await deps.webhook_requests(uow).remember(marker)  # a concurrent replay fails here
            return [uow.publish(e, subject=e.key, source=f"/hris/{source_name}").id for e in events]

        try:
            event_ids = await runtime.transactions.run(publish)
        except Replayed:
            raise HTTPException(401, REPLAYED) from None
        return {"event_id": event_ids[0] if event_ids else None, "event_ids": event_ids, "ignored": not event_ids}

    @router.post("/{source}", status_code=202, summary="A departure, in the contract's form or a vendor's")
    async def departures(source: str, request: Request) -> dict:
        return await receive(source, "departures", request)

    @router.post("/{source}/cancellations", status_code=202, summary="A cancelled departure (generic sources)")
    async def cancellations(source: str, request: Request) -> dict:
        return await receive(source, "cancellations", request)

    return router
