"""The identity HTTP API: profiles, consents, the directory, export and erasure.

Scopes: `alumni:read` to read, `alumni:write` to change, `alumni:admin` for export and erasure;
an alumnus's own token (`alumni:self`) opens their own record and the directory.
"""

from datetime import date, datetime
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from pydantic import BaseModel, ConfigDict

from services.identity.confirmations import request_confirmation
from services.identity.domain import Alumnus
from services.identity.dependencies import Dependencies
from services.identity.repository import AlumniRepository, DirectoryQuery
from services.identity.verification_api import verification_router
from shared.web.auth import SELF, Principal, requires, requires_for_alumnus
from shared.events.alumni import ProfileChanges
from shared.events.types import Purpose, Willingness
from shared.messaging.uow import UnitOfWork
from shared.web.personal_data import Gather, PersonalDataQuery

READ, WRITE, ADMIN = "alumni:read", "alumni:write", "alumni:admin"
# Deeper than this, a page of the directory is refused (422) rather than skipped to.
MAX_PAGE = 10_000


class ConsentChange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    granted: bool


def _view(a: Alumnus) -> dict[str, Any]:
    return {
        "alumnus_id": a.alumnus_id,
        "version": a.version,
        "profile": a.profile.model_dump(mode="json"),
        "personal_email_verified": a.personal_email_verified,
        "stints": [s.model_dump(mode="json") for s in a.stints],
        "boomerang": len(a.stints) > 1,
        "consents": {p.value: c.granted for p, c in a.consents.items()},
    }


def _directory_entry(a: Alumnus) -> dict[str, Any]:
    """What the directory shows: no personal email or phone."""
    p = a.profile
    return {
        "alumnus_id": a.alumnus_id,
        "first_name": p.first_name,
        "last_name": p.last_name,
        "department": p.department,
        "job_title": p.job_title,
        "country": p.country,
        "city": p.city,
        "skills": p.skills,
        "willing_to": [w.value for w in p.willing_to],
        "linkedin_url": str(p.linkedin_url) if p.linkedin_url else None,
        "departure_years": sorted({s.departure_date.year for s in a.stints}),
    }


def _source(principal: Principal) -> str:
    return "alumnus" if principal.alumnus_id else f"staff:{principal.subject}"


async def _existing(alumni: AlumniRepository, alumnus_id: str) -> tuple[AlumniRepository, Alumnus]:
    alumnus = await alumni.get(alumnus_id)
    if alumnus is None:
        erased = await alumni.was_erased(alumnus_id)
        raise HTTPException(404, f"alumnus {alumnus_id} was erased" if erased else f"no alumnus {alumnus_id}")
    return alumni, alumnus


def http_router(deps: Dependencies) -> APIRouter:
    router = APIRouter(tags=["alumni"])
    router.include_router(verification_router(deps))

    @router.get("/alumni/{alumnus_id}", summary="An alumnus's record")
    async def read_alumnus(alumnus_id: str, request: Request, _: Principal = Depends(requires_for_alumnus(READ, ADMIN))) -> dict:
        async def read(uow: UnitOfWork) -> dict:
            _, alumnus = await _existing(deps.alumni(uow), alumnus_id)
            return _view(alumnus)

        return await request.app.state.runtime.transactions.run(read)


    @router.get("/alumni", summary="Find an alumnus by employee id")
    async def find_alumnus(request: Request, employee_id: str = Query(min_length=1), _: Principal = Depends(requires(READ, ADMIN))) -> dict:
        async def find(uow: UnitOfWork) -> dict:
            alumnus = await deps.alumni(uow).by_employee_id(employee_id)
            if alumnus is None:
                raise HTTPException(404, f"no alumnus with employee id {employee_id}")
            return _view(alumnus)

        return await request.app.state.runtime.transactions.run(find)


    @router.patch("/alumni/{alumnus_id}", summary="Change an alumnus's profile")
    async def update_profile(
        alumnus_id: str, changes: ProfileChanges, request: Request, _: Principal = Depends(requires_for_alumnus(WRITE, ADMIN))
    ) -> dict:
        requested = changes.model_dump(exclude_unset=True)
        if any(requested.get(k) is None for k in ("first_name", "last_name") if k in requested):
            raise HTTPException(422, "first_name and last_name cannot be cleared")

        async def update(uow: UnitOfWork) -> dict:
            alumni, alumnus = await _existing(deps.alumni(uow), alumnus_id)
            before = str(alumnus.profile.personal_email) if alumnus.profile.personal_email else None
            if updated := alumnus.update_profile(requested, uow.now()):
                uow.publish(updated, subject=alumnus_id)
                await alumni.save(alumnus)
                await request_confirmation(uow, deps, alumnus, before)
            return _view(alumnus)

        return await request.app.state.runtime.transactions.run(update)


    @router.put("/alumni/{alumnus_id}/consents/{purpose}", summary="Grant or withdraw consent for one purpose")
    async def set_consent(
        alumnus_id: str, purpose: Purpose, change: ConsentChange, request: Request,
        principal: Principal = Depends(requires_for_alumnus(WRITE, ADMIN)),
    ) -> dict:
        async def consent(uow: UnitOfWork) -> dict:
            alumni, alumnus = await _existing(deps.alumni(uow), alumnus_id)
            if changed := alumnus.set_consent(purpose, change.granted, _source(principal), uow.now()):
                uow.publish(changed, subject=alumnus_id)
                await alumni.save(alumnus)
            return {"alumnus_id": alumnus_id, "consents": {p.value: c.granted for p, c in alumnus.consents.items()}}

        return await request.app.state.runtime.transactions.run(consent)


    @router.get("/alumni/{alumnus_id}/consents", summary="Current consents and their full history")
    async def consents(alumnus_id: str, request: Request, _: Principal = Depends(requires_for_alumnus(READ, ADMIN))) -> dict:
        async def read(uow: UnitOfWork) -> dict:
            alumni, alumnus = await _existing(deps.alumni(uow), alumnus_id)
            history = await alumni.consent_history(alumnus_id)
            return {
                "alumnus_id": alumnus_id,
                "consents": {p.value: {"granted": c.granted, "changed_at": c.changed_at.isoformat(), "source": c.source} for p, c in alumnus.consents.items()},
                "history": [{"purpose": r.purpose.value, "granted": r.granted, "changed_at": r.changed_at.isoformat(), "source": r.source} for r in history],
            }

        return await request.app.state.runtime.transactions.run(read)


    @router.get("/directory", summary="Alumni who agreed to be listed, filtered and paginated")
    async def directory(
        request: Request,
        skill: str | None = None,
        department: str | None = None,
        country: str | None = Query(default=None, min_length=2, max_length=2),
        city: str | None = None,
        departure_year: int | None = Query(default=None, ge=1900, le=2200),
        willing_to: Willingness | None = None,
        page: int = Query(default=1, ge=1, le=MAX_PAGE),
        page_size: int = Query(default=20, ge=1, le=100),
        _: Principal = Depends(requires(READ, ADMIN, SELF)),
    ) -> dict:
        query = DirectoryQuery(skill, department, country, city, departure_year, willing_to.value if willing_to else None, page, page_size)

        async def search(uow: UnitOfWork) -> dict:
            total, found = await deps.alumni(uow).directory(query)
            return {"total": total, "page": page, "page_size": page_size, "items": [_directory_entry(a) for a in found]}

        return await request.app.state.runtime.transactions.run(search)


    @router.get("/alumni/{alumnus_id}/export", summary="Everything every service holds about an alumnus (GDPR access)")
    async def export(alumnus_id: str, request: Request, principal: Principal = Depends(requires_for_alumnus(ADMIN))) -> dict:
        async def gather(uow: UnitOfWork) -> dict:
            alumni, alumnus = await _existing(deps.alumni(uow), alumnus_id)
            return await _held(alumni, alumnus) | {"exported_at": uow.now().isoformat(), "employee_ids": [s.employee_id for s in alumnus.stints]}

        held = await request.app.state.runtime.transactions.run(gather)
        employee_ids = tuple(dict.fromkeys(held.pop("employee_ids")))
        # Records kept by employee id are the admin's to ask for: an alumnus's own token names only them.
        query = PersonalDataQuery(alumnus_id, employee_ids if ADMIN in principal.scopes else ())
        services, unanswered = await deps.peers.gather(request.headers["authorization"], query) if deps.peers else ({}, [])
        return held | {"services": services, "unanswered": unanswered}

    @router.delete("/alumni/{alumnus_id}", summary="Erase an alumnus (GDPR): every service deletes its copy")
    async def erase(alumnus_id: str, request: Request, _: Principal = Depends(requires_for_alumnus(ADMIN))) -> dict:
        async def forget(uow: UnitOfWork) -> dict:
            alumni, alumnus = await _existing(deps.alumni(uow), alumnus_id)
            erased = alumnus.erase(uow.now())
            uow.publish(erased, subject=alumnus_id)
            await alumni.erase(alumnus_id, uow.now())
            await deps.confirmations(uow).forget(alumnus_id)
            stints = [deps.erasure_keys.of_stint(s.employee_id, s.hire_date) for s in alumnus.stints]
            await deps.erased(uow).remember(stints, uow.now())
            await deps.waiting(uow).forget([s.employee_id for s in alumnus.stints])  # answers still waiting
            return {"alumnus_id": alumnus_id, "erased_at": erased.erased_at.isoformat()}

        return await request.app.state.runtime.transactions.run(forget)

    return router


async def _held(alumni: AlumniRepository, alumnus: Alumnus) -> dict[str, Any]:
    history = await alumni.consent_history(alumnus.alumnus_id)
    return {
        "alumnus": _view(alumnus) | {"registered_at": _iso(alumnus.registered_at), "updated_at": _iso(alumnus.updated_at)},
        "consent_history": [
            {"purpose": r.purpose.value, "granted": r.granted, "changed_at": r.changed_at.isoformat(), "source": r.source} for r in history
        ],
    }


def personal_data(deps: Dependencies) -> Gather:
    """What identity holds about a person: their record and consent ledger."""

    async def gather(uow: UnitOfWork, query: PersonalDataQuery) -> dict:
        alumni, found = deps.alumni(uow), []
        if query.alumnus_id and (alumnus := await alumni.get(query.alumnus_id)):
            found.append(alumnus)
        for employee_id in query.employee_ids:
            if (alumnus := await alumni.by_employee_id(employee_id)) and alumnus.alumnus_id not in {a.alumnus_id for a in found}:
                found.append(alumnus)
        return {"alumni": [await _held(alumni, a) for a in found]}

    return gather


def _iso(value: datetime | date | None) -> str | None:
    return value.isoformat() if value else None
