"""A bound on request bodies, enforced before anything reads them (signature checks, token
checks, JSON parsing): a declared `Content-Length` over the bound is refused before the
application sees it, and a body sent in chunks is cut off as soon as it passes the bound.
Either way: 413. A route that takes more (an import's batch of rows) has a bound of its own, by
path prefix.

The rest of a refused body is read and dropped, up to DRAIN_BYTES, before the answer: a server
that closes the connection while the client still sends makes the client's network stack reset
it, and the client sees a broken connection instead of the 413. Past DRAIN_BYTES (or a declared
length over it) the connection is closed under the client."""

import json
from collections.abc import Mapping

from starlette.types import ASGIApp, Message, Receive, Scope, Send


DRAIN_BYTES = 4 * 1024 * 1024


class BodyTooLarge(Exception):
    pass


class BodySizeLimit:
    def __init__(self, app: ASGIApp, max_bytes: int, by_path: Mapping[str, int] | None = None) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.by_path = dict(by_path or {})  # path prefix -> its own bound

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope.get("path", "")
        max_bytes = next((bound for prefix, bound in self.by_path.items() if path.startswith(prefix)), self.max_bytes)
        declared = dict(scope.get("headers") or []).get(b"content-length", b"")
        if declared.isdigit() and int(declared) > max_bytes:
            if int(declared) <= DRAIN_BYTES:
                await _drain(receive, DRAIN_BYTES)
            await self._refuse(send, max_bytes)
            return
        received = 0
        started = False

        async def bounded_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > max_bytes:
                    raise BodyTooLarge
            return message

        async def watched_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, bounded_receive, watched_send)
        except BodyTooLarge:
            if not started:
                await _drain(receive, DRAIN_BYTES - received)
                await self._refuse(send, max_bytes)

    async def _refuse(self, send: Send, max_bytes: int) -> None:
        body = json.dumps({"detail": f"the request body is over {max_bytes} bytes"}).encode()
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                                (b"connection", b"close")]})
        await send({"type": "http.response.body", "body": body})


async def _drain(receive: Receive, at_most: int) -> None:
    """Read and drop what is left of the body, up to `at_most` bytes."""
    dropped = 0
    while dropped <= at_most:
        message = await receive()
        if message["type"] != "http.request" or not message.get("more_body"):
            return
        dropped += len(message.get("body", b""))
