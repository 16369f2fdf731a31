"""The SMTP sender's pool of connections against a real SMTP server (aiosmtpd on loopback): messages
reuse a connection, bulk mail never opens more than SMTP_CONNECTIONS at once while transactional
mail has one more of its own, a connection is replaced after its messages or when the server
went away, and a refused recipient keeps the connection and is permanent."""

import asyncio
import time

import pytest

from services.notifications.senders import SmtpSender
from services.notifications.templating import Email
from shared.messaging.failures import PermanentError
from tests.integration.mailbox import Mailbox

pytestmark = pytest.mark.integration


def sender(mailbox: Mailbox, **options) -> SmtpSender:
    return SmtpSender("127.0.0.1", mailbox.port, sender="Alumni <alumni@example.com>", message_id_domain="alumni.example",
                      starttls=False, username="", password="", timeout=5, **options)


def mail(subject: str) -> Email:
    return Email(subject=subject, text="Bonjour Élodie", html="<p>Bonjour Élodie</p>")


@pytest.fixture
def mailbox():
    box = Mailbox().start()
    yield box
    box.stop()


async def test_messages_reuse_one_connection_until_its_quota(mailbox: Mailbox) -> None:
    smtp = sender(mailbox, messages_per_connection=4)
    for n in range(10):
        await smtp.send(f"d{n}", f"a{n}@home.example", mail(f"n{n}"), None, bulk=True)
    await smtp.close()
    assert len(mailbox.messages) == 10 and mailbox.connections == 3 == smtp.opened
    assert [m["Message-ID"] for m in mailbox.messages] == [f"<d{n}@alumni.example>" for n in range(10)]


async def test_a_connection_the_server_dropped_is_replaced_and_the_message_sent(mailbox: Mailbox) -> None:
    smtp = sender(mailbox)
    await smtp.send("d1", "a@home.example", mail("first"), None)
    port = mailbox.port
    mailbox.stop()  # the server restarts: the kept connection is dead
    mailbox.port = port
    mailbox.start()
    await smtp.send("d2", "a@home.example", mail("second"), None)
    await smtp.close()
    assert [str(m["Subject"]) for m in mailbox.messages] == ["first", "second"] and smtp.opened == 2


async def test_a_refused_recipient_is_permanent_and_the_connection_is_kept(mailbox: Mailbox) -> None:
    smtp = sender(mailbox)
    with pytest.raises(PermanentError, match="550"):
        await smtp.send("d1", "refuse-me@home.example", mail("no"), None, bulk=True)
    await smtp.send("d2", "a@home.example", mail("yes"), None, bulk=True)
    await smtp.close()
    assert [str(m["Subject"]) for m in mailbox.messages] == ["yes"] and mailbox.connections == 1


async def test_bulk_mail_is_bounded_and_transactional_mail_does_not_wait_behind_it(mailbox: Mailbox) -> None:
    smtp = sender(mailbox, connections=2)
    mailbox.slow_for = (b"Subject: slow", 0.3)
    bulk = [asyncio.create_task(smtp.send(f"b{n}", f"b{n}@home.example", mail("slow"), None, bulk=True)) for n in range(8)]
    await asyncio.sleep(0.1)
    started = time.monotonic()
    await smtp.send("w1", "w@home.example", mail("welcome"), None)
    welcomed_after = time.monotonic() - started
    await asyncio.gather(*bulk)
    await smtp.close()

    subjects = [str(m["Subject"]) for m in mailbox.messages]
    assert subjects.index("welcome") < 3  # not behind the eight bulk messages
    assert mailbox.connections == 3 and welcomed_after < 0.3 * 4  # two for bulk, one more for the welcome
