"""The exit form's use cases, over a unit of work and the dependencies (api.py runs them in a
transaction and answers over HTTP): show the form behind a leaver's one-time link, and record
their answers. Before the departure date the answers ride on the completion; after it they
update the alumnus (`ExitFormSubmitted`). A link that cannot be used raises one of the domain's
`ExitFormRefused` errors; answers that break the contract raise `InvalidAnswers`.
"""

from collections.abc import Mapping
from typing import Any, Protocol

import pydantic

from services.offboarding.dependencies import Dependencies
from services.offboarding.domain import ExitCase, ExitInvitation, InvalidAnswers, UnknownLink, token_digest
from shared.events.offboarding import ExitProfile
from shared.events.types import Purpose
from shared.messaging.failures import describe
from shared.messaging.uow import UnitOfWork


class Form(Protocol):
    """A posted HTML form (starlette's FormData): a name may be given several times."""

    def get(self, key: str, default: Any = None) -> Any: ...
    def getlist(self, key: str) -> list[Any]: ...


async def _case_behind(uow: UnitOfWork, deps: Dependencies, token: str) -> tuple[ExitCase, ExitInvitation]:
    invitation = await deps.invitations(uow).get(token_digest(token))
    case = await deps.cases(uow).get(invitation.case_id) if invitation else None
    if invitation is None or case is None:  # no such link, or its case was erased
        raise UnknownLink("this link is not known")
    return case, invitation


async def show_form(uow: UnitOfWork, deps: Dependencies, token: str) -> ExitCase:
    """The case whose form the link opens, if the link is still good."""
    case, invitation = await _case_behind(uow, deps, token)
    invitation.check(uow.now(), case.locale)
    return case


async def record_answers(uow: UnitOfWork, deps: Dependencies, token: str, answers: ExitProfile) -> ExitCase:
    """Use the link, once, to record the answers on its case."""
    case, invitation = await _case_behind(uow, deps, token)
    invitation.use(uow.now(), case.locale)
    if submitted := case.record_answers(answers, uow.now()):
        uow.publish(submitted, subject=case.employee_id)
    await deps.invitations(uow).save(invitation)
    await deps.cases(uow).save(case)
    return case


def read_answers(data: object) -> ExitProfile:
    """The answers as the contract has them, or `InvalidAnswers` naming each field and rule
    broken (never the values given)."""
    try:
        return ExitProfile.model_validate(data)
    except pydantic.ValidationError as exc:
        raise InvalidAnswers(describe(exc)) from None


def answers_from_form(form: Form) -> Mapping[str, Any]:
    """The form's fields as the contract names them: one text per field, lists split by line
    (profile URLs) or comma (skills), one checkbox per willingness and per consent."""

    def text(name: str) -> str:
        value = form.get(name) or ""
        if not isinstance(value, str):
            raise InvalidAnswers(f"{name}: a text value is expected")
        return value.strip()

    def checked(name: str) -> list[str]:
        values = form.getlist(name)
        if not all(isinstance(v, str) for v in values):
            raise InvalidAnswers(f"{name}: a text value is expected")
        return values

    consented = set(checked("consent"))
    return {
        "personal_email": text("personal_email") or None,
        "phone": text("phone") or None,
        "linkedin_url": text("linkedin_url") or None,
        "profile_urls": [u.strip() for u in text("profile_urls").splitlines() if u.strip()],
        "skills": [s.strip() for s in text("skills").split(",") if s.strip()],
        "willing_to": checked("willing_to"),
        "consents": {p.value: p.value in consented for p in Purpose},
    }
