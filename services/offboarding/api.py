"""Offboarding's HTTP API: the exit form behind a leaver's one-time link, and the HRIS webhooks
(services/offboarding/intake/).

`GET /exit-form/{token}` shows the form (HTML); `POST /exit-form/{token}` records the answers
(an HTML form post, or JSON). A page speaks the leaver's language once their case is known, the
request's Accept-Language before. An unknown link is answered 404, a used or expired one 410,
answers for a cancelled departure 409, answers that break the contract 422.
"""

from fastapi import APIRouter, Depends, HTTPException, Path, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from services.offboarding.dependencies import Dependencies
from services.offboarding.domain import (
    DepartureCancelled,
    ExitCase,
    ExitFormRefused,
    InvalidAnswers,
    LinkAlreadyUsed,
    LinkExpired,
    UnknownLink,
)
from services.offboarding.erasure import erase_employees
from services.offboarding.exit_form import answers_from_form, read_answers, record_answers, show_form
from services.offboarding.imports.api import import_router
from services.offboarding.intake.api import webhook_router
from shared.messaging.uow import UnitOfWork
from shared.web.auth import Principal, requires
from shared.web.personal_data import Gather, PersonalDataQuery

ADMIN = "alumni:admin"

# A refused link: its status, and the page that tells the leaver.
REFUSALS: dict[type[ExitFormRefused], tuple[int, str]] = {
    UnknownLink: (404, "link_unknown"),
    LinkAlreadyUsed: (410, "link_used"),
    LinkExpired: (410, "link_expired"),
    DepartureCancelled: (409, "departure_cancelled"),
}


def _language(request: Request) -> str:
    return "fr" if request.headers.get("accept-language", "").lower().startswith("fr") else "en"


def personal_data(deps: Dependencies) -> Gather:
    """What offboarding holds about a person: found by employee id (it knows no alumnus ids)."""

    async def gather(uow: UnitOfWork, query: PersonalDataQuery) -> dict:
        employee_ids = list(query.employee_ids)
        if not employee_ids:
            return {"exit_cases": [], "exit_form_links": [], "parked_events": [],
                    "note": "exit cases are found by employee id, which needs the alumni:admin scope"}
        cases = await deps.cases(uow).held(employee_ids)
        return {
            "exit_cases": cases,
            "exit_form_links": await deps.invitations(uow).held([c["_id"] for c in cases]),
            "parked_events": await deps.waiting(uow).held(employee_ids),
        }

    return gather


def http_router(deps: Dependencies) -> APIRouter:
    router = APIRouter()
    router.include_router(webhook_router(deps))
    router.include_router(import_router(deps))

    @router.delete("/employees/{employee_id}", tags=["erasure"],
                   summary="Erase an employee's exit cases (GDPR), also a leaver who never became an alumnus")
    async def erase(request: Request, employee_id: str = Path(min_length=1, max_length=128), _: Principal = Depends(requires(ADMIN))) -> dict:
        async def work(uow: UnitOfWork) -> dict:
            erased = await erase_employees(uow, deps, [employee_id])
            return {"employee_id": employee_id, "cases_erased": erased, "erased_at": uow.now().isoformat()}

        return await request.app.state.runtime.transactions.run(work)

    @router.post("/erased-employees/{employee_id}/readmission", tags=["erasure"],
                 summary="HR re-admits an erased employee: their departures are taken again")
    async def readmit(employee_id: str, request: Request, _: Principal = Depends(requires(ADMIN))) -> dict:
        async def work(uow: UnitOfWork) -> bool:
            return await deps.erased(uow).readmit(deps.erasure_keys.of_employee(employee_id), uow.now())

        if not await request.app.state.runtime.transactions.run(work):
            raise HTTPException(404, "no erased employee with this id")
        return {"readmitted": True}

    def refusal(refused: ExitFormRefused, language: str, wants_json: bool) -> Response:
        status, page = next(answer for kind, answer in REFUSALS.items() if isinstance(refused, kind))
        if wants_json:
            return JSONResponse({"detail": str(refused)}, status_code=status)
        return HTMLResponse(deps.pages.render(page, refused.locale or language), status_code=status)

    @router.get("/exit-form/{token}", response_class=HTMLResponse, tags=["exit form"], summary="The exit form, in the leaver's language")
    async def show(token: str, request: Request) -> Response:
        async def load(uow: UnitOfWork) -> ExitCase:
            return await show_form(uow, deps, token)

        try:
            case = await request.app.state.runtime.transactions.run(load)
        except ExitFormRefused as refused:
            return refusal(refused, _language(request), wants_json=False)
        return HTMLResponse(deps.pages.form(case))

    @router.post("/exit-form/{token}", tags=["exit form"], summary="Record the leaver's answers (form post or JSON)")
    async def submit(token: str, request: Request) -> Response:
        wants_json = request.headers.get("content-type", "").startswith("application/json")
        try:
            answers = read_answers(await request.json() if wants_json else answers_from_form(await request.form()))
        except InvalidAnswers as exc:
            if wants_json:
                raise HTTPException(422, f"invalid answers: {exc}") from None
            return HTMLResponse(deps.pages.render("answers_invalid", _language(request), message=str(exc)), status_code=422)
        except ValueError as exc:
            raise HTTPException(422, f"the body is not JSON: {exc}") from None

        async def record(uow: UnitOfWork) -> ExitCase:
            return await record_answers(uow, deps, token, answers)

        try:
            case = await request.app.state.runtime.transactions.run(record)
        except ExitFormRefused as refused:
            return refusal(refused, _language(request), wants_json)
        if wants_json:
            return JSONResponse({"status": "recorded"})
        return HTMLResponse(deps.pages.render("thanks", case.locale))

    return router

