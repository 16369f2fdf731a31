"""MongoDB through PyMongo's async API (`AsyncMongoClient`, the successor of Motor)."""

from collections.abc import Sequence

from pymongo import AsyncMongoClient, monitoring
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import OperationFailure

INDEX_OPTIONS_CONFLICT, INDEX_KEY_SPECS_CONFLICT = 85, 86


def connect(
    uri: str, *, app_name: str, listeners: Sequence[monitoring._EventListener] = (), username: str = "", password: str = "",
    tls_ca_file: str = "",
) -> AsyncMongoClient:
    """Credentials and TLS beside the URI, when they are not in it (a password from a file)."""
    options: dict = {}
    if username:
        options |= {"username": username, "password": password}
    if tls_ca_file:
        options |= {"tls": True, "tlsCAFile": tls_ca_file}
    # tz_aware: datetimes come back as aware UTC values, as they were written.
    return AsyncMongoClient(uri, appname=app_name, tz_aware=True, event_listeners=list(listeners), **options)


async def ensure_expiry(collection: AsyncCollection, field: str, seconds: int) -> None:
    """A TTL index: documents go `seconds` after their `field`. A period changed in the settings
    changes the index's (collMod) instead of failing on the options of the existing one."""
    try:
        await collection.create_index(field, expireAfterSeconds=seconds)
    except OperationFailure as exc:
        if exc.code not in (INDEX_OPTIONS_CONFLICT, INDEX_KEY_SPECS_CONFLICT):
            raise
        await collection.database.command("collMod", collection.name, index={"keyPattern": {field: 1}, "expireAfterSeconds": seconds})
