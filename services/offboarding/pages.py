"""The exit form's pages, Jinja2 templates in the leaver's language with their text in them:
`templates/<page>.<locale>.html.j2`, each extending `layout.<locale>.html.j2` (autoescaped
HTML, strict about missing variables); the form's fields are `form_fields.html.j2`, given the
labels by the page of each language."""

from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from services.offboarding.domain import ExitCase
from shared.events.offboarding import ExitProfile
from shared.events.types import Locale, Purpose, Willingness

TEMPLATES = Path(__file__).with_name("templates")
# The form, the thank-you page, the refusals, and the page of answers that break the rules.
PAGES = ("exit_form", "thanks", "link_unknown", "link_used", "link_expired", "departure_cancelled", "answers_invalid")


def form_values(case: ExitCase) -> dict[str, Any]:
    """What the form shows: the leaver's earlier answers, else what the HRIS knows."""
    d = case.departure
    answers = case.answers or ExitProfile()
    return {
        "first_name": d.first_name,
        "personal_email": answers.personal_email or d.personal_email,
        "phone": answers.phone or d.phone,
        "linkedin_url": str(answers.linkedin_url) if answers.linkedin_url else None,
        "profile_urls": "\n".join(str(u) for u in answers.profile_urls),
        "skills": ", ".join(answers.skills),
        "willingness": [w.value for w in Willingness],
        "willing_to": {w.value for w in answers.willing_to},
        "purposes": [p.value for p in Purpose],
        "consented": {p.value for p, granted in answers.consents.items() if granted},
    }


class ExitFormPages:
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

    def form(self, case: ExitCase) -> str:
        return self.render("exit_form", case.locale, form=form_values(case))
