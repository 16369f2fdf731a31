"""The local database server as the launcher runs it: SecantusDB with its own TTL monitor off and
an expiry pass in its place (docs/secantusdb-ttl-monitor.md).

The server's monitor reads every document of every TTL-indexed collection once a minute while
holding the lock that every command takes, so a store of some hundred thousand such documents
stops answering for seconds a minute. This pass does what mongod's monitor does instead: it asks
each TTL index for the documents past their cutoff and deletes them in bounded batches, over the
wire protocol like any client, so that a pass costs what it deletes and other commands go on.
The services declare their TTL indexes as they would on MongoDB; only who deletes changes.

    python -m devstack.secantusd [secantusd-py's flags]"""

import functools
import logging
import os
import sys
import threading
from collections.abc import Iterable, Iterator, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from pymongo import MongoClient
from secantus import cli

log = logging.getLogger("alumni.devstack.expiry")

SWEEP_SECONDS = 60.0  # as mongod's ttlMonitorSleepSecs
BATCH = 1000
SYSTEM_DATABASES = ("admin", "config", "local")


def ttl_rules(indexes: Iterable[Mapping[str, Any]]) -> Iterator[tuple[str, float, dict | None]]:
    """(field, seconds, partial filter) of each index that expires documents, by mongod's rules:
    a single-field index other than `_id` with a numeric `expireAfterSeconds`."""
    for index in indexes:
        seconds = index.get("expireAfterSeconds")
        if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or seconds != seconds or seconds < 0:
            continue
        keys = list(index.get("key", {}).items())
        if len(keys) != 1 or keys[0][0] == "_id" or isinstance(keys[0][1], str):
            continue
        partial = index.get("partialFilterExpression")
        yield keys[0][0], float(seconds), dict(partial) if partial else None


def expired(field: str, seconds: float, partial: dict | None, now: datetime) -> dict:
    """What an index expires at `now`: its field holds a date before the cutoff (`$lt` matches
    dates only, and an array by any date in it, as mongod expires them)."""
    query: dict = {field: {"$lt": now - timedelta(seconds=seconds)}}
    return {"$and": [query, partial]} if partial else query


def expire(client: MongoClient, now: datetime | None = None, batch: int = BATCH) -> int:
    """One pass over every collection of every database: the documents deleted."""
    now = now or datetime.now(UTC)
    deleted = 0
    for name in client.list_database_names():
        if name in SYSTEM_DATABASES:
            continue
        db = client[name]
        for collection_name in db.list_collection_names():
            collection = db[collection_name]
            for field, seconds, partial in ttl_rules(collection.list_indexes()):
                query = expired(field, seconds, partial, now)
                while ids := [doc["_id"] for doc in collection.find(query, {"_id": 1}).limit(batch)]:
                    # The query again: a document updated since it was read keeps its new date.
                    deleted += collection.delete_many({"$and": [{"_id": {"$in": ids}}, query]}).deleted_count
                    if len(ids) < batch:
                        break
    return deleted


def sweep_forever(uri: str, every: float, stop: threading.Event) -> None:
    client = MongoClient(uri, tz_aware=True, serverSelectionTimeoutMS=5000)
    while not stop.wait(every):
        try:
            if deleted := expire(client):
                log.info("expired %d documents", deleted)
        except Exception:  # the server restarting, a collection dropped mid-pass: the next pass will do
            log.warning("expiry pass failed", exc_info=True)


def _port(argv: list[str]) -> int:
    for flag, value in zip(argv, argv[1:]):
        if flag == "--port":
            return int(value)
    raise SystemExit("devstack.secantusd: --port is required")


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    every = float(os.environ.get("ALUMNI_EXPIRY_SECONDS", SWEEP_SECONDS))
    uri = f"mongodb://127.0.0.1:{_port(argv)}/?directConnection=true"
    cli.SecantusDBServer = functools.partial(cli.SecantusDBServer, ttl_sweep_seconds=0)  # 0: the server's monitor off
    threading.Thread(target=sweep_forever, args=(uri, every, threading.Event()), name="expiry", daemon=True).start()
    return cli.main(argv)


if __name__ == "__main__":
    sys.exit(main())
