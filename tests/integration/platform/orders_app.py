"""A small service built on the platform, for the platform's own integration tests: orders come
in over HTTP (published through the outbox) or from Kafka, and each handled order is stored
as a shipment and announced by an event. It runs as a real process, like every service:

    ORDERS_TOPIC=... SHIPMENTS_TOPIC=... python -m tests.integration.platform.orders_app

Test events ask for failures in their payload (`fail_times`, `always_fail`, `reject`,
`work_ms`), so each test chooses what happens to its own records. `ORDERS_APP_V2=1` handles
version 2 of the order event, `ORDERS_APP_V2=skip` reads it and lets it pass.
"""

import asyncio
import os

from fastapi import APIRouter, Request
from pydantic import BaseModel

from shared.messaging.router import EventRouter
from shared.messaging.uow import EventContext
from shared.events.base import Event, Registry, event_type
from shared.messaging.failures import PermanentError, TransientError
from shared.service import create_service, serve
from shared.settings import ServiceSettings
from shared.messaging.uow import UnitOfWork

NAME = os.environ.get("ORDERS_APP_NAME", "orders")
ORDERS = os.environ.get("ORDERS_TOPIC", "test.orders")
SHIPMENTS = os.environ.get("SHIPMENTS_TOPIC", "test.shipments")
ROLE = os.environ.get("ORDERS_APP_ROLE", "intake,worker")
ENABLE_V2 = os.environ.get("ORDERS_APP_V2") == "1"
SKIP_V2 = os.environ.get("ORDERS_APP_V2") == "skip"

catalog = Registry(topics={ORDERS, SHIPMENTS})


@event_type("com.alumni.test.order-placed.v1", topic=ORDERS, key="order_id", catalog=catalog)
class OrderPlaced(Event):
    order_id: str
    fail_times: int = 0
    always_fail: bool = False
    reject: bool = False
    work_ms: int = 0
    revision: int = 0


@event_type("com.alumni.test.order-placed.v2", topic=ORDERS, key="order_id", catalog=catalog)
class OrderPlacedV2(Event):
    order_id: str
    channel: str


@event_type("com.alumni.test.order-shipped.v1", topic=SHIPMENTS, key="order_id", catalog=catalog)
class OrderShipped(Event):
    order_id: str


events = EventRouter()


async def _failures_so_far(ctx: EventContext, order_id: str) -> int:
    # Outside the transaction on purpose: a failed attempt aborts it, but must still be counted.
    attempt = await ctx.db.attempts.find_one_and_update(
        {"_id": order_id}, {"$inc": {"n": 1}, "$push": {"at": ctx.now()}}, upsert=True, return_document=True
    )
    return attempt["n"]


async def _ship(order_id: str, ctx: EventContext) -> None:
    await ctx.db.shipments.insert_one({"_id": order_id, "event_id": ctx.envelope.id}, session=ctx.session)
    ctx.publish(OrderShipped(order_id=order_id), subject=order_id)


@events.on(OrderPlaced)
async def ship(event: OrderPlaced, ctx: EventContext) -> None:
    if event.fail_times or event.always_fail:
        attempt = await _failures_so_far(ctx, event.order_id)
        if event.always_fail or attempt <= event.fail_times:
            raise TransientError(f"warehouse unavailable (attempt {attempt})")
    if event.reject:
        raise PermanentError("the warehouse refuses this order")
    if event.work_ms:
        await asyncio.sleep(event.work_ms / 1000)
    await _ship(event.order_id, ctx)


if ENABLE_V2:

    @events.on(OrderPlacedV2)
    async def ship_v2(event: OrderPlacedV2, ctx: EventContext) -> None:
        await _ship(event.order_id, ctx)

elif SKIP_V2:
    events.skip(OrderPlacedV2)


class PlaceOrder(BaseModel):
    order_id: str
    work_ms: int = 0
    revision: int = 0


api = APIRouter()


@api.post("/orders", status_code=202)
async def place_order(body: PlaceOrder, request: Request) -> dict[str, str]:
    runtime = request.app.state.runtime

    async def work(uow: UnitOfWork) -> str:
        await uow.db.orders.insert_one({"order_id": body.order_id, "revision": body.revision}, session=uow.session)
        placed = OrderPlaced(order_id=body.order_id, work_ms=body.work_ms, revision=body.revision)
        return uow.publish(placed, subject=body.order_id).id

    return {"event_id": await runtime.transactions.run(work)}


def build():
    roles = set(ROLE.split(","))
    return create_service(
        NAME,
        ServiceSettings(),
        events=events if "worker" in roles else None,
        http_routers=[api] if "intake" in roles else [],
    )


if __name__ == "__main__":
    serve(build())
