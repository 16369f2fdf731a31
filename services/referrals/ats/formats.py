"""ATS webhook payloads, read as the contract's `ApplicationStatusChanged` (or None: an event
that says nothing about an application's status, ignored).

- generic: the contract's payload itself.
- Greenhouse (https://developers.greenhouse.io/webhooks.html, "Candidate Events" and
  "Application Events"): `{"action", "payload": {"application": {"id", "status",
  "current_stage": {"name"}, "last_activity_at", "candidate": {"email_addresses": [{"value"}]},
  "custom_fields": {"referral_id": {"value"}}, "offer": {"resolved_at"}}}}`; actions
  `hire_candidate`, `reject_candidate`, `candidate_stage_change`, `new_candidate_application`.
- Lever (Lever's developer documentation, "Webhooks"): `{"event", "triggeredAt", "data":
  {"opportunityId", "toStageId", "toArchived"}}`; events `applicationCreated`,
  `candidateStageChange`, `candidateHired`, `candidateArchiveChange`. Lever's webhooks carry
  ids, no email: the opportunity is matched through an application already linked to a
  referral, otherwise it is recorded as unmatched.
"""

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from services.referrals.ats.sources import AtsSource
from shared.events.referrals import ApplicationStatusChanged

Reader = Callable[[AtsSource, dict[str, Any], datetime], ApplicationStatusChanged | None]

GREENHOUSE_ACTIONS = {"hire_candidate": "hired", "reject_candidate": "rejected", "new_candidate_application": "applied"}
# Greenhouse stages are named by each company; their usual words, when `stage_map` is silent.
GREENHOUSE_STAGE_WORDS = (("offer", "offer"), ("interview", "interviewing"), ("onsite", "interviewing"),
                          ("assessment", "interviewing"), ("application review", "applied"))
LEVER_EVENTS = {"applicationCreated": "applied", "candidateHired": "hired"}


class PayloadRefused(Exception):
    """The payload is not what the vendor sends: answered 422."""


def _object(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise PayloadRefused(f"{where} is not an object")
    return value


def read_generic(source: AtsSource, payload: dict[str, Any], now: datetime) -> ApplicationStatusChanged:
    return ApplicationStatusChanged.model_validate(payload)


def _greenhouse_stage(source: AtsSource, application: dict[str, Any]) -> str:
    if application.get("status") in ("hired", "rejected"):
        return application["status"]
    name = str((application.get("current_stage") or {}).get("name") or "").strip().lower()
    if name in {k.lower(): v for k, v in source.stage_map.items()}:
        return {k.lower(): v for k, v in source.stage_map.items()}[name]
    return next((status for word, status in GREENHOUSE_STAGE_WORDS if word in name), "screening")


def read_greenhouse(source: AtsSource, payload: dict[str, Any], now: datetime) -> ApplicationStatusChanged | None:
    action = payload.get("action")
    if action not in (*GREENHOUSE_ACTIONS, "candidate_stage_change"):
        return None  # a ping, a job post, an interview: no application status
    application = _object(_object(payload.get("payload"), "payload").get("application"), "payload.application")
    if not isinstance(application.get("id"), int | str):
        raise PayloadRefused("payload.application.id is missing")
    status = GREENHOUSE_ACTIONS.get(action) or _greenhouse_stage(source, application)
    candidate = application.get("candidate") or {}
    emails = [e.get("value") for e in candidate.get("email_addresses") or [] if isinstance(e, dict)]
    referral = ((application.get("custom_fields") or {}).get("referral_id") or {})
    offer = application.get("offer") or {}
    return ApplicationStatusChanged.model_validate({
        "application_id": f"greenhouse:{application.get('id')}",
        "referral_id": referral.get("value") if isinstance(referral, dict) else None,
        "candidate_email": emails[0] if emails else None,
        "status": status,
        "changed_at": offer.get("resolved_at") or application.get("rejected_at") or application.get("last_activity_at") or now,
    })


def read_lever(source: AtsSource, payload: dict[str, Any], now: datetime) -> ApplicationStatusChanged | None:
    event = payload.get("event")
    data = _object(payload.get("data"), "data")
    if not isinstance(data.get("opportunityId"), str):
        raise PayloadRefused("data.opportunityId is missing")
    if event == "candidateStageChange":
        status = source.stage_map.get(str(data.get("toStageId")), "screening")
    elif event == "candidateArchiveChange":
        if not data.get("toArchived"):
            return None  # unarchived: the next stage change says where it stands
        status = "rejected"
    elif event in LEVER_EVENTS:
        status = LEVER_EVENTS[event]
    else:
        return None
    return ApplicationStatusChanged.model_validate({
        "application_id": f"lever:{data.get('opportunityId')}",
        "status": status,
        "changed_at": datetime.fromtimestamp(payload["triggeredAt"] / 1000, UTC),
    })


READERS: dict[str, Reader] = {"generic": read_generic, "greenhouse": read_greenhouse, "lever": read_lever}
