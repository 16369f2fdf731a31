"""MongoDB through PyMongo's async API (`AsyncMongoClient`, the successor of Motor)."""

from pymongo import AsyncMongoClient


def connect(uri: str, *, app_name: str) -> AsyncMongoClient:
    # tz_aware: datetimes come back as aware UTC values, as they were written.
    return AsyncMongoClient(uri, appname=app_name, tz_aware=True)
