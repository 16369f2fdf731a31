"""The pages behind a link confirming a personal email, Jinja2 templates in the alumnus's
language with their text in them: `templates/<page>.<locale>.html.j2`, each extending
`layout.<locale>.html.j2` (autoescaped HTML, strict about missing variables)."""

from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from shared.events.types import Locale

TEMPLATES = Path(__file__).with_name("templates")
# The page asking to confirm (a mail scanner opening the link confirms nothing), the thank-you
# page, and the refusals.
PAGES = ("confirm_email", "email_confirmed", "link_unknown", "link_used", "link_expired", "link_superseded")


class ConfirmationPages:
    def __init__(self, directory: Path = TEMPLATES) -> None:
        self.env = Environment(
            loader=FileSystemLoader(directory),
            undefined=StrictUndefined,
            autoescape=select_autoescape(enabled_extensions=("html.j2",), default=True),
            trim_blocks=True,
            lstrip_blocks=True,
        )

    def render(self, page: str, locale: Locale | str, **context: Any) -> str:
        return self.env.get_template(f"{page}.{Locale(locale).value}.html.j2").render(context)
