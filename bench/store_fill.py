"""Fills a store by cloning what the pipeline wrote into it (bench/store.py, `scale`)."""

import asyncio
import time
from typing import Any, Awaitable, Callable

from bson import ObjectId
from pymongo import AsyncMongoClient

from services import DEFAULT_HTTP_PORTS

SERVICES = tuple(DEFAULT_HTTP_PORTS)


def _clone_ids(templates: dict[str, list[dict]]) -> set[str]:
    """The identifiers that tie the documents of one departure together: every string `_id`, and
    every string under a key naming an id, in any collection."""
    ids: set[str] = set()

    def walk(value: Any, key: str = "") -> None:
        if isinstance(value, dict):
            for k, v in value.items():
                walk(v, k)
        elif isinstance(value, list):
            for v in value:
                walk(v, key)
        elif isinstance(value, str) and (key == "_id" or key.endswith("_id") or key.endswith("_ids")):
            ids.add(value)

    for docs in templates.values():
        for d in docs:
            walk(d)
    return ids


def _clone(doc: Any, ids: set[str], suffix: str) -> Any:
    if isinstance(doc, dict):
        return {k: (ObjectId() if k == "_id" and isinstance(v, ObjectId) else _clone(v, ids, suffix)) for k, v in doc.items()}
    if isinstance(doc, list):
        return [_clone(v, ids, suffix) for v in doc]
    if isinstance(doc, str) and doc in ids:
        return doc + suffix
    return doc


async def fill(client: AsyncMongoClient, documents: int, census: Callable[[AsyncMongoClient], Awaitable[dict]], log: Callable[[str], None] = print,
               batch: int = 1000) -> dict[str, Any]:
    """Grow the store to `documents` by cloning what is in it: each round copies every document of
    every service collection once (outboxes excepted: they are empty when quiet), with the ids that
    tie a departure's documents together suffixed by the round, so a clone is another departure
    with the same shape. Returns how long it took and the slowest batch."""
    templates: dict[str, list[dict]] = {}
    for service in SERVICES:
        db = client[f"alumni_{service}"]
        for name in await db.list_collection_names():
            if name != "outbox":
                templates[f"{service}.{name}"] = [d async for d in db[name].find({})]
    ids = _clone_ids(templates)
    per_round = sum(len(d) for d in templates.values())
    counted = await census(client)
    present = sum(counted[k]["docs"] for k in templates)
    rounds = max(0, -(-(documents - present) // per_round))
    log(f"filling: {present} documents now, {per_round} per round of clones, {rounds} rounds ...")
    queue: asyncio.Queue = asyncio.Queue(maxsize=8)
    slowest, written, started = 0.0, 0, time.monotonic()

    async def produce() -> None:
        for r in range(rounds):
            suffix = f"-c{r:05d}"
            for key, docs in templates.items():
                for i in range(0, len(docs), batch):
                    await queue.put((key, [_clone(d, ids, suffix) for d in docs[i:i + batch]]))
            await asyncio.sleep(0)
        for _ in range(3):
            await queue.put(None)

    async def write() -> None:
        nonlocal slowest, written
        while (item := await queue.get()) is not None:
            key, docs = item
            service, name = key.split(".", 1)
            t = time.perf_counter()
            await client[f"alumni_{service}"][name].insert_many(docs, ordered=False)
            slowest = max(slowest, time.perf_counter() - t)
            written += len(docs)
            if written // 100_000 != (written - len(docs)) // 100_000:
                log(f"  {present + written:>9,} documents, {time.monotonic() - started:5.0f}s")

    await asyncio.gather(produce(), write(), write(), write())
    return {"written": written, "seconds": time.monotonic() - started, "slowest_batch_s": slowest}
