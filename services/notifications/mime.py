"""An email as a MIME message: text and HTML as alternatives, attachments beside them
(multipart/mixed), headers encoded where they are not ASCII (RFC 2047), bodies in
quoted-printable UTF-8.

Built with the email package's compat32 classes rather than `EmailMessage`: under the default
policy every header set is parsed into a header object and folded again when the message is
flattened, which made a welcome email cost 1.3 ms of CPU against 0.3 ms this way (a third of the
notifications service's CPU per departure went to its three emails). The message is the same
once parsed (tests/unit/notifications/test_mime.py).
"""

import io
from email import encoders
from email.charset import QP, Charset
from email.generator import BytesGenerator
from email.header import Header
from email.message import EmailMessage, Message
from email.policy import compat32
from email.mime.base import MIMEBase
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.utils import formataddr, formatdate, parseaddr

import aiosmtplib

from services.notifications.templating import Attachment, Email

_UTF8 = Charset("utf-8")
_UTF8.body_encoding = QP  # readable in the raw message, and what mail filters expect of text


def _one_line(value: str) -> str:
    if len(value.splitlines()) > 1 or value.endswith(("\r", "\n")):  # no header injection, as the default policy
        raise ValueError("header values may not contain line breaks")
    return value


def _header(name: str, value: str) -> str:
    """ASCII as it is; else RFC 2047 encoded words of at most 75 characters, folded between them."""
    return value if _one_line(value).isascii() else Header(value, "utf-8", header_name=name).encode(maxlinelen=74)


def _header_of(value: str, parsed: tuple[str, str]) -> str:
    """An address as a header (its name RFC 2047-encoded); a value that does not parse as is."""
    return formataddr(parsed, charset="utf-8") if parsed[1] else value


def _content_type(attachment: Attachment) -> tuple[str, str, dict[str, str]]:
    """`text/calendar; method=REQUEST` as ("text", "calendar", {"method": "REQUEST"})."""
    maintype, _, rest = attachment.content_type.partition("/")
    subtype, *params = [p.strip() for p in rest.split(";")]
    return maintype, subtype, dict(p.split("=", 1) for p in params if "=" in p)


def _text(body: str, subtype: str) -> MIMEText:
    part = MIMEText(body if body.endswith("\n") else body + "\n", subtype, _UTF8)  # as EmailMessage ends its text
    del part["MIME-Version"]  # once, at the top
    return part


def mime_message(email: Email, *, sender: str, to: str, message_id: str, unsubscribe_url: str | None) -> Message:
    """The message; an `EmailMessage` of the default policy where an address is not ASCII
    (compat32 cannot write one; aiosmtplib sends it with SMTPUTF8)."""
    parsed_sender, parsed_to = parseaddr(_one_line(sender)), parseaddr(_one_line(to))
    if not (parsed_sender[1].isascii() and parsed_to[1].isascii()):
        return email_message(email, sender=sender, to=to, message_id=message_id, unsubscribe_url=unsubscribe_url)
    body = MIMEMultipart("alternative", _subparts=[_text(email.text, "plain"), _text(email.html, "html")])
    if email.attachments:
        del body["MIME-Version"]
        message = MIMEMultipart("mixed", _subparts=[body])
        for attachment in email.attachments:
            maintype, subtype, params = _content_type(attachment)
            part = MIMEBase(maintype, subtype, **params)
            del part["MIME-Version"]
            part.set_payload(attachment.data)
            encoders.encode_base64(part)
            part.add_header("Content-Disposition", "attachment", filename=attachment.filename)
            message.attach(part)
    else:
        message = body
    message["From"], message["To"] = _header_of(sender, parsed_sender), _header_of(to, parsed_to)
    message["Subject"] = _header("Subject", email.subject)
    message["Date"] = formatdate(usegmt=True)
    message["Message-ID"] = message_id
    if unsubscribe_url:
        message["List-Unsubscribe"] = f"<{_one_line(unsubscribe_url)}>"
        message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"  # RFC 8058
    return message


async def transmit(client: aiosmtplib.SMTP, message: Message) -> dict:
    """Send one message on a connected client; the recipients the server refused."""
    if isinstance(message, EmailMessage):
        errors, _ = await client.send_message(message)
        return errors
    data = io.BytesIO()
    # Not aiosmtplib's flattening: for a compat32 message it would write a body line that starts
    # with "From " as ">From ". Headers are not folded again: compat32 would put a long URL (the
    # unsubscribe link) on a line of its own, read back with a leading space.
    BytesGenerator(data, mangle_from_=False, maxheaderlen=0, policy=compat32).flatten(message)
    errors, _ = await client.sendmail(parseaddr(message["From"])[1], [parseaddr(message["To"])[1]], data.getvalue())
    return errors


def email_message(email: Email, *, sender: str, to: str, message_id: str, unsubscribe_url: str | None) -> EmailMessage:
    """The same message as an `EmailMessage` of the default policy (slower; any address)."""
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = sender, to, email.subject
    message["Date"], message["Message-ID"] = formatdate(usegmt=True), message_id
    if unsubscribe_url:
        message["List-Unsubscribe"] = f"<{unsubscribe_url}>"
        message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    message.set_content(email.text)
    message.add_alternative(email.html, subtype="html")
    for attachment in email.attachments:
        maintype, subtype, params = _content_type(attachment)
        message.add_attachment(attachment.data, maintype=maintype, subtype=subtype, filename=attachment.filename, params=params)
    return message
