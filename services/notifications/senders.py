"""Sending: email over SMTP (aiosmtplib), chat through outgoing webhooks (httpx). Failures are
classified for the platform: an outage, a timeout, a 4xx SMTP reply or a 5xx/429 from a webhook
is a TransientError (retried with backoff, 429 after its Retry-After); a refused recipient
(5xx SMTP reply) or a 4xx from a webhook is a PermanentError (never retried)."""

import asyncio
import socket
import time
from dataclasses import dataclass
from email.message import Message
from typing import Protocol

import aiosmtplib
import httpx
from opentelemetry import trace
from opentelemetry.trace import SpanKind, Status, StatusCode

from services.notifications.channels import ChatChannel, payload
from services.notifications.mime import mime_message, transmit
from services.notifications.templating import Email
from shared.messaging.failures import PermanentError, TransientError

# A proxy of the process's provider, looked up once (the SDK's get_tracer is not cheap).
_TRACER = trace.get_tracer("alumni.smtp")


class Mailer(Protocol):
    async def send(self, delivery_id: str, to: str, email: Email, unsubscribe_url: str | None, *, bulk: bool = False) -> None:
        """`bulk`: one of many (a mailing), which waits for a connection behind transactional mail."""


class ChatPoster(Protocol):
    async def post(self, name: str, channel: ChatChannel, text: str) -> None: ...


@dataclass
class _Connection:
    client: aiosmtplib.SMTP
    messages: int = 0
    idle_since: float = 0.0


class SmtpSender:
    """`Mailer` over SMTP, through a small pool of connections reused across messages: at most
    `connections` open for bulk mail, and one more that only transactional mail may use, so that
    a welcome email never waits behind a mailing. A connection is replaced after
    `messages_per_connection` messages, after `idle_seconds` unused, and whenever it fails; a
    message whose reused connection turns out closed by the server is sent again once on a new
    one (with the same Message-ID)."""

    RESERVED_FOR_TRANSACTIONAL = 1

    def __init__(
        self, host: str, port: int, *, sender: str, message_id_domain: str, starttls: bool, username: str, password: str, timeout: float,
        connections: int = 4, messages_per_connection: int = 100, idle_seconds: float = 30.0,
    ) -> None:
        self.host, self.port = host, port
        self.sender = sender
        self.domain = message_id_domain
        self.starttls = starttls
        self.username, self.password = username or None, password or None
        self.timeout = timeout
        self.connections = connections
        self.messages_per_connection = messages_per_connection
        self.idle_seconds = idle_seconds
        # Named once: aiosmtplib would otherwise look it up in a worker thread for every connection.
        self.local_hostname = socket.getfqdn()
        self._idle: list[_Connection] = []
        self._busy = 0
        self._transactional_waiting = 0
        self._freed: asyncio.Condition | None = None
        self._quitting: set[asyncio.Task] = set()
        self.opened = 0  # connections opened so far

    def message(self, delivery_id: str, to: str, email: Email, unsubscribe_url: str | None) -> Message:
        # Derived from the delivery: a retried send carries the same Message-ID.
        return mime_message(email, sender=self.sender, to=to, message_id=f"<{delivery_id}@{self.domain}>", unsubscribe_url=unsubscribe_url)

    async def send(self, delivery_id: str, to: str, email: Email, unsubscribe_url: str | None, *, bulk: bool = False) -> None:
        message = self.message(delivery_id, to, email, unsubscribe_url)
        # A client span for the SMTP exchange, the last hop of a trace; no address in it.
        attributes = {"server.address": self.host, "server.port": self.port, "network.protocol.name": "smtp"}
        with _TRACER.start_as_current_span("smtp send", kind=SpanKind.CLIENT, attributes=attributes) as span:
            try:
                await self._send(message, bulk)
            except Exception as exc:
                span.set_status(Status(StatusCode.ERROR, type(exc).__name__))
                raise

    async def close(self) -> None:
        idle, self._idle = self._idle, []
        for connection in idle:
            await _quit(connection.client)

    async def _send(self, message: Message, bulk: bool) -> None:
        await self._acquire(bulk)
        try:
            for attempt in (1, 2):
                connection = await self._connection()
                reused = connection.messages > 0
                try:
                    errors = await transmit(connection.client, message)
                except aiosmtplib.SMTPServerDisconnected:
                    connection.client.close()
                    if reused and attempt == 1:
                        continue  # the server closed a connection it had kept: once more, on a new one
                    raise TransientError("mail server unavailable: SMTPServerDisconnected") from None
                except (aiosmtplib.SMTPResponseException, aiosmtplib.SMTPRecipientsRefused) as exc:
                    self._put_back(connection)  # a refusal: the envelope is reset, the connection still good
                    raise _classified(exc) from None
                except BaseException as exc:  # a timeout, a cancellation: where the exchange stands is unknown
                    connection.client.close()
                    raise _classified(exc) from None
                connection.messages += 1
                self._put_back(connection)
                if errors:
                    raise PermanentError(f"the mail server refused {len(errors)} recipient(s)")
                return
        finally:
            await self._release()

    async def _connection(self) -> _Connection:
        while self._idle:
            connection = self._idle.pop()
            if connection.client.is_connected and time.monotonic() - connection.idle_since < self.idle_seconds:
                return connection
            await _quit(connection.client)
        client = aiosmtplib.SMTP(
            hostname=self.host, port=self.port, start_tls=self.starttls, username=self.username, password=self.password,
            timeout=self.timeout, local_hostname=self.local_hostname,
        )
        try:
            await client.connect()
        except BaseException as exc:
            client.close()
            raise _classified(exc) from None
        self.opened += 1
        return _Connection(client)

    def _put_back(self, connection: _Connection) -> None:
        """Kept for the next message while it is connected and has room; closed otherwise."""
        if connection.client.is_connected and connection.messages < self.messages_per_connection:
            connection.idle_since = time.monotonic()
            self._idle.append(connection)
        elif connection.client.is_connected:
            task = asyncio.get_running_loop().create_task(_quit(connection.client))
            self._quitting.add(task)
            task.add_done_callback(self._quitting.discard)
        else:
            connection.client.close()

    async def _acquire(self, bulk: bool) -> None:
        if self._freed is None:
            self._freed = asyncio.Condition()
        limit = self.connections + (0 if bulk else self.RESERVED_FOR_TRANSACTIONAL)
        async with self._freed:
            if not bulk:
                self._transactional_waiting += 1
            try:
                await self._freed.wait_for(lambda: self._busy < limit and (not bulk or self._transactional_waiting == 0))
            finally:
                if not bulk:
                    self._transactional_waiting -= 1
            self._busy += 1

    async def _release(self) -> None:
        assert self._freed is not None
        async with self._freed:
            self._busy -= 1
            self._freed.notify_all()


async def _quit(client: aiosmtplib.SMTP) -> None:
    try:
        await client.quit()
    except Exception:
        client.close()


def _classified(exc: BaseException) -> BaseException:
    """An SMTP failure as the platform treats it: permanent (a 5xx refusal) or transient."""
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused):
        codes = [r.code for r in exc.recipients]
        if all(code >= 500 for code in codes):
            return PermanentError(f"the mail server refused the recipient ({', '.join(map(str, codes))})")
        return TransientError(f"the mail server deferred the recipient ({', '.join(map(str, codes))})")
    if isinstance(exc, aiosmtplib.SMTPResponseException):
        if exc.code >= 500 and exc.code not in (421,):
            return PermanentError(f"the mail server refused the message ({exc.code})")
        return TransientError(f"the mail server deferred the message ({exc.code})")
    if isinstance(exc, aiosmtplib.SMTPException | OSError | TimeoutError):
        return TransientError(f"mail server unavailable: {type(exc).__name__}")
    return exc


class WebhookSender:
    """`ChatPoster` to chat webhooks: posts, one request at a time per channel, no faster than its rate."""

    def __init__(self, http: httpx.AsyncClient) -> None:
        self.http = http
        self._locks: dict[str, asyncio.Lock] = {}
        self._last: dict[str, float] = {}

    async def post(self, name: str, channel: ChatChannel, text: str) -> None:
        lock = self._locks.setdefault(name, asyncio.Lock())
        async with lock:
            wait = self._last.get(name, 0.0) + 1.0 / channel.per_second - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            self._last[name] = time.monotonic()
            try:
                response = await self.http.post(channel.url.get_secret_value(), json=payload(channel, text))
            except httpx.HTTPError as exc:
                raise TransientError(f"chat webhook {name} unreachable: {type(exc).__name__}") from None
        if response.status_code == 429:
            raise TransientError(f"chat webhook {name} is rate limited", retry_after=_retry_after(response))
        if response.status_code >= 500:
            raise TransientError(f"chat webhook {name} answered {response.status_code}")
        if response.status_code >= 400:
            raise PermanentError(f"chat webhook {name} refused the post ({response.status_code})")


# A webhook asking for a longer wait than this is retried after this: `Retry-After: inf` (or a
# year) must not hold a chat partition for good; past the retry budget the post is dead-lettered.
MAX_RETRY_AFTER_SECONDS = 300.0


def _retry_after(response: httpx.Response) -> float:
    value = response.headers.get("Retry-After", "")
    try:
        seconds = float(value)
    except ValueError:
        return 1.0
    return min(max(0.0, seconds), MAX_RETRY_AFTER_SECONDS) if seconds == seconds else 1.0  # NaN: 1 s
