"""MongoDB through PyMongo's async API (`AsyncMongoClient`, the successor of Motor)."""

from collections.abc import Sequence

from pymongo import AsyncMongoClient, monitoring


def connect(uri: str, *, app_name: str, listeners: Sequence[monitoring._EventListener] = ()) -> AsyncMongoClient:
    # tz_aware: datetimes come back as aware UTC values, as they were written.
    return AsyncMongoClient(uri, appname=app_name, tz_aware=True, event_listeners=list(listeners))
