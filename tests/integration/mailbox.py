"""A real SMTP server on loopback (aiosmtpd) that keeps what it receives, refuses chosen
recipients with 550, counts the connections opened to it, can answer chosen messages slowly
(`slow_for`: a bytes marker and seconds), and can be stopped and started again (an outage)."""

import asyncio
import email
import email.policy
import threading
from email.message import Message

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from devstack.process import free_port


class Mailbox:
    def __init__(self) -> None:
        self.port = free_port()
        self.messages: list[Message] = []
        self._by_recipient: dict[str, list[Message]] = {}
        self.rcpt_attempts: dict[str, int] = {}
        self.refuse_prefix = "refuse-"
        self.connections = 0
        self.slow_for: tuple[bytes, float] | None = None
        self._lock = threading.Lock()
        self._controller: Controller | None = None

    async def handle_RCPT(self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list) -> str:  # noqa: N802
        with self._lock:
            self.rcpt_attempts[address] = self.rcpt_attempts.get(address, 0) + 1
        if address.startswith(self.refuse_prefix):
            return "550 5.1.1 No such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:  # noqa: N802
        if self.slow_for and self.slow_for[0] in (envelope.original_content or envelope.content):
            await asyncio.sleep(self.slow_for[1])
        message = email.message_from_bytes(envelope.original_content or envelope.content, policy=email.policy.default)
        with self._lock:
            self.messages.append(message)
            for rcpt in envelope.rcpt_tos:
                self._by_recipient.setdefault(rcpt, []).append(message)
        return "250 Message accepted for delivery"

    def start(self) -> "Mailbox":
        mailbox = self

        class Counting(SMTP):
            def connection_made(self, transport) -> None:
                with mailbox._lock:
                    mailbox.connections += 1
                super().connection_made(transport)

        class Server(Controller):
            def factory(self) -> SMTP:
                return Counting(self.handler, **self.SMTP_kwargs)

        self._controller = Server(self, hostname="127.0.0.1", port=self.port)
        self._controller.start()
        with self._lock:
            self.connections = 0  # the controller's own, checking that the server answers
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def to(self, address: str) -> list[Message]:
        with self._lock:
            return list(self._by_recipient.get(address, []))
