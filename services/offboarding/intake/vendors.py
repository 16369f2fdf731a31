"""What the vendor adapters share: calling a vendor API, and mapping its values to the contract."""

import re
from datetime import date, datetime

import httpx

from services.offboarding.intake.reasons import departure_reason
from shared.events.hris import EmployeeDeparted
from shared.events.types import Locale


class VendorUnavailable(Exception):
    """The vendor's API did not answer usefully: answered 503 so that the vendor retries."""


class PayloadRefused(Exception):
    """The webhook's payload, or the worker behind it, cannot make a departure: answered 422."""


async def fetch_json(http: httpx.AsyncClient, method: str, url: str, **kwargs) -> dict:
    try:
        response = await http.request(method, url, **kwargs)
    except httpx.HTTPError as exc:
        raise VendorUnavailable(f"{method} {url}: {type(exc).__name__}") from exc
    if response.status_code == 404:
        raise PayloadRefused(f"the vendor does not know this worker ({method} {url} answered 404)")
    if response.status_code >= 400:
        raise VendorUnavailable(f"{method} {url} answered {response.status_code}")
    try:
        return response.json()
    except ValueError:
        raise VendorUnavailable(f"{method} {url} answered something that is not JSON") from None


def e164(phone: str | None) -> str | None:
    """A phone as E.164 when it can be read as one (vendors keep spaces, dots, dashes)."""
    if not phone:
        return None
    compact = re.sub(r"[\s.\-()]", "", phone)
    if compact.startswith("00"):
        compact = "+" + compact[2:]
    return compact if re.fullmatch(r"\+[1-9]\d{1,14}", compact) else None


def country_code(value: str | None) -> str | None:
    """Kept only when it is already an ISO 3166-1 alpha-2 code: the contract accepts nothing else."""
    return value.strip().upper() if value and len(value.strip()) == 2 else None


def day(value: str | None) -> date | None:
    """ISO `YYYY-MM-DD`, or `DD/MM/YYYY`; BambooHR writes no date as `0000-00-00`."""
    if not value or value.startswith("0000"):
        return None
    for pattern in ("%Y-%m-%d", "%d/%m/%Y"):
        try:
            return datetime.strptime(value[:10], pattern).date()
        except ValueError:
            continue
    raise PayloadRefused(f"unreadable date {value[:20]!r}")


# What a vendor's worker id looks like: it becomes a segment of a vendor API's path.
WORKER_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")


def worker_id(value: object, field: str) -> str:
    """A worker id fit for a vendor URL, or the payload is refused: never a path of our choosing."""
    text = blank_to_none(value)
    if text is None:
        raise PayloadRefused(f"{field}: missing")
    if not WORKER_ID.fullmatch(text):
        raise PayloadRefused(f"{field}: not a worker id (letters, digits, '-' and '_', 64 at most)")
    return text


def blank_to_none(value: object) -> str | None:
    text = str(value).strip() if value is not None else ""
    return text or None


def departure_from_vendor(
    employee_id: str,
    *,
    first_name: object,
    last_name: object,
    work_email: object,
    personal_email: object,
    phone: str | None,
    department: object,
    job_title: object,
    country: str | None,
    city: object,
    hire_date: str | None,
    departure_date: date,
    termination_reason: str | None,
    locale: Locale,
) -> EmployeeDeparted:
    """A departure in the contract's form from a vendor's raw values, normalised."""
    return EmployeeDeparted.model_validate(
        {
            "employee_id": employee_id,
            "first_name": first_name,
            "last_name": last_name,
            "work_email": work_email,
            "personal_email": blank_to_none(personal_email),
            "phone": e164(phone),
            "department": blank_to_none(department),
            "job_title": blank_to_none(job_title),
            "country": country_code(country),
            "city": blank_to_none(city),
            "hire_date": day(hire_date),
            "departure_date": departure_date,
            "departure_reason": departure_reason(termination_reason),
            "locale": locale,
        }
    )
