"""HiBob: webhooks v2 are thin (`{"type": "employee.left", "companyId": ..., "triggeredAt": ...,
"data": {"employeeId": ...}}`), so the adapter reads the worker from Bob's API
(`POST /v1/people/{id}` with the fields it needs, HTTP basic with a service user).
`employee.left` makes a departure; other event types are acknowledged and ignored.
"""

import httpx

from services.offboarding.intake.sources import HrisSource
from services.offboarding.intake.vendors import PayloadRefused, day, departure_from_vendor, fetch_json, worker_id
from shared.events.base import Event

FIELDS = [
    "root.id", "root.firstName", "root.surname", "root.email", "home.privateEmail", "home.mobilePhone",
    "work.department", "work.title", "work.startDate", "address.country", "address.city",
    "internal.terminationDate", "internal.terminationReason",
]
DEPARTURE_EVENTS = {"employee.left"}


def _employee_id(payload: dict) -> str:
    data = payload.get("data") if isinstance(payload.get("data"), dict) else {}
    legacy = payload.get("employee") if isinstance(payload.get("employee"), dict) else {}
    return worker_id(data.get("employeeId") or legacy.get("id"), "data.employeeId")


async def read(source: HrisSource, payload: dict, http: httpx.AsyncClient) -> list[Event]:
    if payload.get("type") not in DEPARTURE_EVENTS:
        return []
    employee_id = _employee_id(payload)
    worker = await fetch_json(
        http,
        "POST",
        f"{source.api_base_url.rstrip('/')}/v1/people/{employee_id}",
        json={"fields": FIELDS},
        auth=(source.service_user_id, source.api_token.get_secret_value()),
        headers={"Accept": "application/json"},
    )
    work, home = worker.get("work") or {}, worker.get("home") or {}
    address, internal = worker.get("address") or {}, worker.get("internal") or {}
    departure = day(internal.get("terminationDate"))
    if departure is None:
        raise PayloadRefused("internal.terminationDate: Bob has no termination date for this employee")
    return [
        departure_from_vendor(
            employee_id,
            first_name=worker.get("firstName"),
            last_name=worker.get("surname"),
            work_email=worker.get("email"),
            personal_email=home.get("privateEmail"),
            phone=home.get("mobilePhone"),
            department=work.get("department"),
            job_title=work.get("title"),
            country=address.get("country"),
            city=address.get("city"),
            hire_date=work.get("startDate"),
            departure_date=departure,
            termination_reason=internal.get("terminationReason"),
            locale=source.default_locale,
        )
    ]
