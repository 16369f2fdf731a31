"""BambooHR: a webhook names the employees that changed; the adapter reads each one from the
BambooHR API (`GET /api/gateway.php/{company}/v1/employees/{id}/?fields=...`, HTTP basic with
the API key as user), because a webhook carries only the fields it was set up to post.

A termination date makes a departure; an employee active again with no termination date (a
rescinded resignation) makes a cancellation.
"""

import httpx

from services.offboarding.intake.sources import HrisSource
from services.offboarding.intake.vendors import PayloadRefused, day, departure_from_vendor, fetch_json, worker_id
from shared.events.base import Event
from shared.events.hris import EmployeeDeparted, EmployeeDepartureCancelled

FIELDS = [
    "firstName", "lastName", "workEmail", "homeEmail", "mobilePhone", "department", "jobTitle",
    "country", "city", "hireDate", "terminationDate", "terminationReason", "status",
]
_TERMINATION_FIELDS = {"terminationdate", "status", "employmentstatus", "employmenthistorystatus"}


def _normalised(field: str) -> str:
    return field.replace(" ", "").replace("_", "").lower()


async def read(source: HrisSource, payload: dict, http: httpx.AsyncClient) -> list[Event]:
    employees = payload.get("employees")
    if not isinstance(employees, list) or not employees:
        raise PayloadRefused("employees: a BambooHR webhook names at least one employee")
    # Every id is checked before any call to the vendor.
    ids = [worker_id(entry.get("id") if isinstance(entry, dict) else None, "employees.id") for entry in employees]
    events: list[Event] = []
    for entry, employee_id in zip(employees, ids, strict=True):
        worker = await fetch_json(
            http,
            "GET",
            f"{source.api_base_url.rstrip('/')}/api/gateway.php/{source.company_domain}/v1/employees/{employee_id}/",
            params={"fields": ",".join(FIELDS)},
            auth=(source.api_key.get_secret_value(), "x"),
            headers={"Accept": "application/json"},
        )
        changed = {_normalised(f) for f in entry.get("changedFields", [])}
        if (departure := day(worker.get("terminationDate"))) is not None:
            events.append(_departure(source, employee_id, worker, departure))
        elif changed & _TERMINATION_FIELDS and str(worker.get("status", "")).lower() == "active":
            # The hire date names the stint whose departure is rescinded (not an earlier one).
            events.append(EmployeeDepartureCancelled(employee_id=employee_id, reason="active again in BambooHR", hire_date=day(worker.get("hireDate"))))
    return events


def _departure(source: HrisSource, employee_id: str, worker: dict, departure) -> EmployeeDeparted:
    return departure_from_vendor(
        employee_id,
        first_name=worker.get("firstName"),
        last_name=worker.get("lastName"),
        work_email=worker.get("workEmail"),
        personal_email=worker.get("homeEmail"),
        phone=worker.get("mobilePhone"),
        department=worker.get("department"),
        job_title=worker.get("jobTitle"),
        country=worker.get("country"),
        city=worker.get("city"),
        hire_date=worker.get("hireDate"),
        departure_date=departure,
        termination_reason=worker.get("terminationReason"),
        locale=source.default_locale,
    )
