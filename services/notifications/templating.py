"""Message templates (Jinja2, autoescaped HTML, strict about missing variables), per template
and locale: `templates/<name>.<locale>.txt.j2` for email (first line `Subject: ...`, then the
text body; the HTML part is the text laid out by `layout.html.j2`) and
`templates/<name>.<locale>.chat.j2` for chat. A locale without its file falls back to `en`."""

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, TemplateNotFound, select_autoescape

from services.notifications.hosted_events import local_time
from services.notifications.routing import RoutingTable
from services.notifications.samples import SAMPLES, sample_context

TEMPLATES = Path(__file__).with_name("templates")
LOCALES = ("en", "fr")


class TemplateError(Exception):
    """A template is missing or uses a variable the context does not have."""


@dataclass(frozen=True)
class Attachment:
    filename: str
    content_type: str  # e.g. "text/calendar; method=REQUEST"
    data: bytes


@dataclass(frozen=True)
class Email:
    subject: str
    text: str
    html: str
    attachments: tuple[Attachment, ...] = ()


_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\u2028\u2029]")


def _without_control_characters(value: Any) -> Any:
    """A value from an event, as a template shows it: a carriage return or another control
    character an alumnus typed becomes a space (line feeds stay: descriptions have paragraphs)."""
    return _CONTROL.sub(" ", value) if isinstance(value, str) else value


class Templates:
    def __init__(self, directory: Path = TEMPLATES) -> None:
        self.env = Environment(
            loader=FileSystemLoader(directory),
            undefined=StrictUndefined,
            autoescape=select_autoescape(enabled_extensions=("html.j2",), default=False),
            keep_trailing_newline=False,
            finalize=_without_control_characters,
        )
        # A hosted event's start, in its time zone and a language: {{ event.hosted_event | local_time(recipient.locale) }}
        self.env.filters["local_time"] = local_time

    def _render(self, name: str, locale: str, part: str, context: dict[str, Any]) -> str:
        for candidate in (locale, "en"):
            try:
                template = self.env.get_template(f"{name}.{candidate}.{part}.j2")
            except TemplateNotFound:
                continue
            try:
                return template.render(context).strip()
            except Exception as exc:
                raise TemplateError(f"{name}.{candidate}.{part}.j2: {exc}") from exc
        raise TemplateError(f"no template {name}.{locale}.{part}.j2 (nor its en fallback)")

    def email(self, name: str, locale: str, context: dict[str, Any]) -> Email:
        rendered = self._render(name, locale, "txt", context)
        first, _, body = rendered.partition("\n")
        if not first.startswith("Subject: "):
            raise TemplateError(f"{name}.{locale}.txt.j2 must start with a 'Subject: ' line")
        text = body.strip()
        paragraphs = [p.splitlines() for p in text.split("\n\n") if p.strip()]
        html = self.env.get_template("layout.html.j2").render(
            subject=first.removeprefix("Subject: "), paragraphs=paragraphs, locale=locale,
            unsubscribe_url=context.get("unsubscribe_url"),
        )
        # A subject is one line, whatever the values in it held (a mail header cannot break).
        return Email(" ".join(first.removeprefix("Subject: ").split()), text, html)

    def chat(self, name: str, locale: str, context: dict[str, Any]) -> str:
        return self._render(name, locale, "chat", context)

    def has(self, name: str, locale: str, part: str) -> bool:
        try:
            self.env.get_template(f"{name}.{locale}.{part}.j2")
        except TemplateNotFound:
            return False
        return True


def check_templates(table: RoutingTable, templates: Templates) -> None:
    """Every route renders, in every locale, for its sample event: a missing template or
    variable stops the service at start-up instead of breaking a message."""
    problems = []
    for route in table.routes:
        if route.event not in SAMPLES:
            problems.append(f"{route.event}: no sample event in samples.py")
            continue
        for locale in LOCALES:
            context = sample_context(route.event, locale, consent_gated=route.purpose is not None)
            try:
                templates.chat(route.template, locale, context) if route.channel == "chat" else templates.email(route.template, locale, context)
            except TemplateError as exc:
                problems.append(str(exc))
            if not templates.has(route.template, locale, "chat" if route.channel == "chat" else "txt"):
                problems.append(f"{route.template}: no {locale} version")
    if problems:
        raise TemplateError("templates are broken:\n" + "\n".join(problems))
