"""An email's MIME message (services/notifications/mime.py), as sent, reads once parsed (as a mail
client or the tests' mailbox parses it) as the same message `EmailMessage` makes, which is how it
was made before and how an address that is not ASCII still goes: the same headers, the same
text, HTML and attachments in the same structure; and no header takes a line break."""

import email
import email.policy
import re
from email.message import EmailMessage

import pytest

from services.notifications.mime import email_message, mime_message, transmit
from services.notifications.templating import Attachment, Email

SENDER = "Réseau des anciens <alumni@example.com>"
CALENDAR = Attachment("event.ics", "text/calendar; method=REQUEST", b"BEGIN:VCALENDAR\r\nMETHOD:REQUEST\r\nEND:VCALENDAR\r\n")
EMAILS = {
    "english, no attachment": Email(subject="Welcome to the alumni network", text="Hello Jo,\n\nWelcome.\n", html="<p>Hello Jo,</p><p>Welcome.</p>"),
    "french, long lines": Email(
        subject="Bienvenue dans le réseau des anciens, Zoé : votre espace, vos événements et vos contacts vous attendent",
        text="Bonjour Zoé,\n\n" + "Vous faites désormais partie du réseau des anciens. " * 12 + "\n",
        html="<p>Bonjour Zoé,</p><p>" + "Vous faites désormais partie du réseau. " * 12 + "</p>",
    ),
    "an invitation with its calendar": Email(subject="Soirée des anciens à Lyon", text="Venez !\n", html="<p>Venez !</p>", attachments=(CALENDAR,)),
    "a long subject in ASCII": Email(subject="Your invitation to the alumni meetup: " + "talks, drinks and old colleagues " * 3, text="x", html="y"),
    "a line starting with From": Email(subject="Drinks", text="Line one\nFrom 18:00, drinks\n", html="<p>x</p>\nFrom 18:00\n"),
}


class Client:
    """What transmit hands to aiosmtplib."""

    def __init__(self) -> None:
        self.sent: list[tuple] = []

    async def sendmail(self, sender: str, recipients: list[str], data: bytes):
        self.sent.append(("sendmail", sender, recipients, data))
        return {}, "OK"

    async def send_message(self, message: EmailMessage):
        self.sent.append(("send_message", message))
        return {}, "OK"


def read(raw: bytes) -> dict:
    """What a reader of the message gets out of it, sent as aiosmtplib sends it (CRLF lines)."""
    message = email.message_from_bytes(re.sub(rb"\r?\n", b"\r\n", raw), policy=email.policy.default)
    headers = {h: str(message[h]) for h in ("From", "To", "Subject", "Message-ID", "List-Unsubscribe", "List-Unsubscribe-Post") if h in message}
    parts = [(p.get_content_type(), dict(p.get_params() or [])) for p in message.walk()]
    attachments = [(a.get_filename(), a.get_content_type(), a.get_param("method"), a.get_content()) for a in message.iter_attachments()]
    body = {kind: message.get_body((kind,)).get_content() for kind in ("plain", "html")}
    return {"headers": headers, "structure": [(t, {k: v for k, v in p.items() if k not in ("boundary", t)}) for t, p in parts],
            "attachments": attachments, "body": body, "date": message["Date"] is not None}


@pytest.mark.parametrize("name", EMAILS)
@pytest.mark.parametrize("unsubscribe", [None, "https://alumni.example.com/unsubscribe/abc.def", "http://127.0.0.1:18004/unsubscribe/" + "eyJmIjp7" * 25 + ".0BZG"])
async def test_the_message_sent_reads_as_the_one_email_message_made(name: str, unsubscribe: str | None) -> None:
    fields = {"sender": SENDER, "to": "zoe.dupont@home.example", "message_id": "<d-42@alumni.example.com>", "unsubscribe_url": unsubscribe}
    client = Client()
    assert await transmit(client, mime_message(EMAILS[name], **fields)) == {}
    [(how, sender, recipients, new)] = client.sent
    old = email_message(EMAILS[name], **fields).as_bytes(policy=email.policy.SMTP)
    assert (how, sender, recipients) == ("sendmail", "alumni@example.com", ["zoe.dupont@home.example"])
    assert read(new) == read(old)
    assert new.isascii() and all(len(line) <= 998 for line in new.splitlines())  # 7-bit, RFC 5322 line bound
    assert b"\n>From" not in new
    assert all(len(w) <= 75 for w in re.findall(rb"=\?utf-8\?q\?[^?]*\?=", new))  # RFC 2047's bound on an encoded word


async def test_an_address_that_is_not_ascii_goes_as_an_email_message_for_smtputf8() -> None:
    client = Client()
    message = mime_message(EMAILS["french, long lines"], sender=SENDER, to="zoé@exemple.fr", message_id="<d-7@x>", unsubscribe_url=None)
    await transmit(client, message)
    [(how, sent)] = client.sent
    assert how == "send_message" and str(sent["To"]) == "zoé@exemple.fr"
    assert read(sent.as_bytes(policy=email.policy.SMTPUTF8))["body"]["plain"].startswith("Bonjour Zoé")


@pytest.mark.parametrize("field", ["subject", "to", "sender"])
@pytest.mark.parametrize("brk", ["\r\n", "\n", "\x0c", "\u2028"])
def test_a_header_value_with_a_line_break_is_refused(field: str, brk: str) -> None:
    fields = {"sender": SENDER, "to": "zoe@home.example", "message_id": "<d-1@x>", "unsubscribe_url": None}
    message = EMAILS["english, no attachment"]
    if field == "subject":
        message = Email(subject=f"Hello{brk}Bcc: everyone@example.com", text="x", html="x")
    else:
        fields[field] = f"zoe@home.example{brk}Bcc: everyone@example.com"
    with pytest.raises(ValueError, match="line breaks"):
        mime_message(message, **fields)
