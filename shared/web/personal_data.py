"""What a service holds about a person, for a GDPR access export. Every service serves

    GET /personal-data?alumnus_id=<id>&employee_id=<id>&employee_id=<id>
    -> {"service": "<name>", "records": {...}}

built here, so that each service only provides the function that gathers its records (within a
unit of work). Identity's `GET /alumni/{id}/export` asks every peer configured in
PERSONAL_DATA_PEERS with the caller's own token, and says which did not answer.

Who may ask: the admin scope, for any alumnus or employee ids; or an alumnus's own token, for
their own `alumnus_id` only (an employee id cannot be checked against that token, so it needs the
admin scope). Only identifiers travel in the URL, never an email, and each is bounded.
"""

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

import httpx
from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.encoders import jsonable_encoder

from shared.messaging.uow import UnitOfWork
from shared.web.auth import SELF, Principal, requires

log = logging.getLogger(__name__)

ADMIN = "alumni:admin"
MAX_EMPLOYEE_IDS = 20
# Identifiers as the contracts bound them, without what an email needs.
IDENTIFIER = re.compile(r"[A-Za-z0-9_.:/-]{1,128}")


@dataclass(frozen=True)
class PersonalDataQuery:
    alumnus_id: str | None
    employee_ids: tuple[str, ...]


Gather = Callable[[UnitOfWork, PersonalDataQuery], Awaitable[dict[str, Any]]]


def _checked(name: str, value: str) -> str:
    if not IDENTIFIER.fullmatch(value):
        raise HTTPException(422, f"{name}: an identifier of 1 to 128 letters, digits and _.:/- is expected")
    return value


def personal_data_router(service: str, gather: Gather) -> APIRouter:
    router = APIRouter(tags=["personal data"])

    @router.get("/personal-data", summary="What this service holds about a person (GDPR access)")
    async def personal_data(
        request: Request,
        alumnus_id: str | None = Query(default=None, max_length=128),
        employee_id: list[str] = Query(default=[], max_length=MAX_EMPLOYEE_IDS),
        principal: Principal = Depends(requires(ADMIN, SELF)),
    ) -> dict:
        query = PersonalDataQuery(
            _checked("alumnus_id", alumnus_id) if alumnus_id is not None else None,
            tuple(_checked("employee_id", e) for e in dict.fromkeys(employee_id)),
        )
        if query.alumnus_id is None and not query.employee_ids:
            raise HTTPException(422, "alumnus_id or employee_id is required")
        if ADMIN not in principal.scopes:
            if query.alumnus_id != principal.alumnus_id:
                raise HTTPException(403, "an alumnus's own token opens only their own alumnus_id")
            if query.employee_ids:
                raise HTTPException(403, "employee_id needs the alumni:admin scope")
        records = await request.app.state.runtime.transactions.run(lambda uow: gather(uow, query))
        return {"service": service, "records": jsonable_encoder(records)}

    return router


class Peers:
    """The other services' `/personal-data`, asked at once with the caller's own token (a rare
    admin or self-service action; services never read another's database)."""

    def __init__(self, http: httpx.AsyncClient, urls: Mapping[str, str]) -> None:
        self.http = http
        self.urls = dict(urls)

    async def gather(self, authorization: str, query: PersonalDataQuery) -> tuple[dict[str, Any], list[dict[str, str]]]:
        """(records by service, the peers that did not answer and why)."""
        params: list[tuple[str, str]] = [("alumnus_id", query.alumnus_id)] if query.alumnus_id else []
        params += [("employee_id", e) for e in query.employee_ids]
        names = sorted(self.urls)
        answers = await asyncio.gather(*(self._ask(name, authorization, params) for name in names))
        records = {name: answer for name, answer in zip(names, answers, strict=True) if isinstance(answer, dict)}
        unanswered = [{"service": name, "reason": answer} for name, answer in zip(names, answers, strict=True) if isinstance(answer, str)]
        for missing in unanswered:
            log.warning("a service did not answer the personal data export", extra=missing)
        return records, unanswered

    async def _ask(self, name: str, authorization: str, params: list[tuple[str, str]]) -> dict[str, Any] | str:
        try:
            response = await self.http.get(f"{self.urls[name].rstrip('/')}/personal-data", params=params, headers={"Authorization": authorization})
        except httpx.HTTPError as exc:
            return f"unreachable ({type(exc).__name__})"
        if response.status_code != 200:
            return f"answered HTTP {response.status_code}"
        try:
            body = response.json()
        except ValueError:
            return "answered something that is not JSON"
        if not isinstance(body, dict) or body.get("service") != name or not isinstance(body.get("records"), dict):
            return "answered something that is not its personal data"
        return body["records"]
