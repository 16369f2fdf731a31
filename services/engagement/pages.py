"""The pages a one-click link opens, in the alumnus's language: `templates/rsvp.<locale>.html.j2`
(autoescaped, strict about missing variables). `GET` shows a confirmation with a button (mail
scanners open links, and must not answer for anyone), `POST` records and says what it made."""

from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

TEMPLATES = Path(__file__).with_name("templates")
LOCALES = ("en", "fr")


class RsvpPages:
    def __init__(self, directory: Path = TEMPLATES) -> None:
        self.env = Environment(
            loader=FileSystemLoader(directory), undefined=StrictUndefined,
            autoescape=select_autoescape(enabled_extensions=("html.j2",), default=True), trim_blocks=True, lstrip_blocks=True,
        )

    def render(self, page: str, locale: str, **context: Any) -> str:
        """`page`: confirm (with `response`, `title`), recorded (with `status`, `position`, `title`),
        or refused (with `reason`: unknown, expired, closed, outside)."""
        language = locale if locale in LOCALES else "en"
        defaults = {"title": "", "response": "", "status": "", "position": None, "reason": ""}
        return self.env.get_template(f"rsvp.{language}.html.j2").render(defaults | context, page=page)
