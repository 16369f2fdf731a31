"""MongoDB through PyMongo's async API (`AsyncMongoClient`, the successor of Motor)."""

from collections.abc import Sequence

from pymongo import AsyncMongoClient, monitoring


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
