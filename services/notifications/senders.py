"""Sending: email over SMTP (aiosmtplib), chat through outgoing webhooks (httpx). Failures are
classified for the platform: an outage, a timeout, a 4xx SMTP reply or a 5xx/429 from a webhook
is a TransientError (retried with backoff, 429 after its Retry-After); a refused recipient
(5xx SMTP reply) or a 4xx from a webhook is a PermanentError (never retried)."""

import asyncio
import socket
import time
from email.message import EmailMessage
from email.utils import formatdate
from typing import Protocol

import aiosmtplib
import httpx
from opentelemetry import trace
from opentelemetry.trace import SpanKind, Status, StatusCode

from services.notifications.channels import ChatChannel, payload
from services.notifications.templating import Email
from shared.messaging.failures import PermanentError, TransientError


class Mailer(Protocol):
    async def send(self, delivery_id: str, to: str, email: Email, unsubscribe_url: str | None) -> None: ...


class ChatPoster(Protocol):
    async def post(self, name: str, channel: ChatChannel, text: str) -> None: ...


class SmtpSender:
    """`Mailer` over SMTP."""

    def __init__(self, host: str, port: int, *, sender: str, message_id_domain: str, starttls: bool, username: str, password: str, timeout: float) -> None:
        self.host, self.port = host, port
        self.sender = sender
        self.domain = message_id_domain
        self.starttls = starttls
        self.username, self.password = username or None, password or None
        self.timeout = timeout
        # Named once: aiosmtplib would otherwise look it up in a worker thread for every message.
        self.local_hostname = socket.getfqdn()

    def message(self, delivery_id: str, to: str, email: Email, unsubscribe_url: str | None) -> EmailMessage:
        message = EmailMessage()
        message["From"] = self.sender
        message["To"] = to
        message["Subject"] = email.subject
        message["Date"] = formatdate(usegmt=True)
        # Derived from the delivery: a retried send carries the same Message-ID.
        message["Message-ID"] = f"<{delivery_id}@{self.domain}>"
        if unsubscribe_url:
            message["List-Unsubscribe"] = f"<{unsubscribe_url}>"
            message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"  # RFC 8058
        message.set_content(email.text)
        message.add_alternative(email.html, subtype="html")
        for attachment in email.attachments:
            maintype, _, rest = attachment.content_type.partition("/")
            subtype, *params = [p.strip() for p in rest.split(";")]
            message.add_attachment(
                attachment.data, maintype=maintype, subtype=subtype, filename=attachment.filename,
                params=dict(p.split("=", 1) for p in params if "=" in p),
            )
        return message

    async def send(self, delivery_id: str, to: str, email: Email, unsubscribe_url: str | None) -> None:
        message = self.message(delivery_id, to, email, unsubscribe_url)
        # A client span for the SMTP exchange, the last hop of a trace; no address in it.
        attributes = {"server.address": self.host, "server.port": self.port, "network.protocol.name": "smtp"}
        with trace.get_tracer("alumni.smtp").start_as_current_span("smtp send", kind=SpanKind.CLIENT, attributes=attributes) as span:
            try:
                await self._send(message)
            except Exception as exc:
                span.set_status(Status(StatusCode.ERROR, type(exc).__name__))
                raise

    async def _send(self, message: EmailMessage) -> None:
        try:
            errors, _ = await aiosmtplib.send(
                message, hostname=self.host, port=self.port, start_tls=self.starttls,
                username=self.username, password=self.password, timeout=self.timeout,
                local_hostname=self.local_hostname,
            )
        except aiosmtplib.SMTPRecipientsRefused as exc:
            codes = [r.code for r in exc.recipients]
            if all(code >= 500 for code in codes):
                raise PermanentError(f"the mail server refused the recipient ({', '.join(map(str, codes))})") from None
            raise TransientError(f"the mail server deferred the recipient ({', '.join(map(str, codes))})") from None
        except aiosmtplib.SMTPResponseException as exc:
            if exc.code >= 500 and exc.code not in (421,):
                raise PermanentError(f"the mail server refused the message ({exc.code})") from None
            raise TransientError(f"the mail server deferred the message ({exc.code})") from None
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            raise TransientError(f"mail server unavailable: {type(exc).__name__}") from None
        if errors:
            raise PermanentError(f"the mail server refused {len(errors)} recipient(s)")


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
