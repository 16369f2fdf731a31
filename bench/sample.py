"""The sample departures the baseline and the pipeline are both fed, and their CloudEvents headers."""

from datetime import date, timedelta

from shared.events import Envelope

TODAY = date.today()


def departure(run: str, n: int) -> dict:
    return {
        "employee_id": f"B-{run}-{n:06d}", "first_name": f"Bench{n}", "last_name": "Mark", "work_email": f"w{n}.{run}@acme.example",
        "personal_email": f"p{n}.{run}@home.example", "hire_date": (TODAY - timedelta(days=800)).isoformat(),
        "departure_date": (TODAY - timedelta(days=1)).isoformat(), "departure_reason": "resignation", "locale": "en",
    }


def headers(ce_type: str) -> list[tuple[str, bytes]]:
    return [(k, v.encode()) for k, v in Envelope(type=ce_type, source="/bench").headers().items()]
