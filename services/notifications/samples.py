"""A sample of every routed event, for the template preview and the start-up check."""

from typing import Any

from shared.events import registry

_PROFILE = {"first_name": "Élodie", "last_name": "Martin", "department": "Finance", "locale": "fr"}

_HOSTED = {
    "event_id": "evt_1", "title": "Rencontre des anciens", "kind": "meetup", "description": "Apéritif & retrouvailles <3",
    "starts_at": "2027-01-15T18:30:00Z", "ends_at": "2027-01-15T21:00:00Z", "timezone": "Europe/Paris", "location": "Lyon", "locale": "fr",
}

SAMPLES: dict[str, dict[str, Any]] = {
    "com.alumni.offboarding.exit-form-issued.v2": {
        "case_id": "E-1/2019-03-01", "employee_id": "E-1", "first_name": "Élodie", "email": "elodie@example.org",
        "locale": "fr", "link_id": "sample-link", "link_key_id": "sample", "expires_at": "2026-12-31T00:00:00Z",
    },
    "com.alumni.offboarding.exit-form-issued.v1": {
        "case_id": "E-1/2019-03-01", "employee_id": "E-1", "first_name": "Élodie", "email": "elodie@example.org",
        "locale": "fr", "form_url": "https://alumni.example/exit-form/sample-token", "expires_at": "2026-12-31T00:00:00Z",
    },
    "com.alumni.offboarding.completed.v1": {
        "case_id": "E-1/2019-03-01", "employee_id": "E-1", "hire_date": "2019-03-01", "departure_date": "2026-11-30",
        "departure_reason": "resignation", "outcome": "excluded", "exclusion_reason": "litigation with the company is pending",
    },
    "com.alumni.offboarding.cancelled.v1": {
        "case_id": "E-1/2019-03-01", "employee_id": "E-1", "hire_date": "2019-03-01", "after_completion": True,
        "reason": "resignation rescinded", "cancelled_at": "2026-12-01T09:00:00Z",
    },
    "com.alumni.alumnus.registered.v1": {
        "alumnus_id": "alm_sample", "version": 1, "boomerang": True,
        "stint": {"employee_id": "E-1", "hire_date": "2019-03-01", "departure_date": "2026-11-30"}, "profile": _PROFILE,
    },
    "com.alumni.alumnus.email-confirmation-requested.v1": {
        "alumnus_id": "alm_sample", "email": "elodie@example.org", "first_name": "Élodie", "locale": "fr",
        "link_id": "sample-link", "link_key_id": "sample", "expires_at": "2026-12-31T00:00:00Z",
    },
    "com.alumni.alumnus.merge-review-opened.v1": {
        "review_id": "rev_sample", "employee_id": "E-2", "alumnus_id": "alm_sample", "opened_at": "2026-11-22T09:00:00Z",
    },
    "com.alumni.referral.submitted.v1": {
        "referral_id": "ref_1", "alumnus_id": "alm_sample", "kind": "candidate", "referred_name": "Hugo Lambert",
        "position": "Data engineer", "submitted_at": "2026-11-22T09:00:00Z",
    },
    "com.alumni.referral.status-changed.v1": {
        "referral_id": "ref_1", "alumnus_id": "alm_sample", "kind": "candidate", "status": "interviewing",
        "previous_status": "submitted", "changed_at": "2026-11-25T09:00:00Z",
    },
    "com.alumni.referral.status-changed.v2": {
        "referral_id": "ref_1", "alumnus_id": "alm_sample", "kind": "client", "status": "qualified",
        "previous_status": "submitted", "changed_at": "2026-11-25T09:00:00Z",
    },
    "com.alumni.referral.bonus-earned.v1": {
        "referral_id": "ref_1", "alumnus_id": "alm_sample", "amount": "1500.00", "currency": "EUR", "earned_at": "2027-02-01T09:00:00Z",
    },
    "com.alumni.event.hosted.v1": {
        "event_id": "evt_1", "title": "Rencontre des anciens", "kind": "meetup", "description": "Apéritif & retrouvailles <3",
        "starts_at": "2027-01-15T18:30:00Z", "ends_at": "2027-01-15T21:00:00Z", "location": "Lyon", "locale": "fr",
    },
    "com.alumni.event.invitations-issued.v1": {"event_id": "evt_1", "hosted_event": _HOSTED, "alumnus_ids": ["alm_sample"], "chunk": 0},
    "com.alumni.event.rsvp-confirmed.v1": {
        "event_id": "evt_1", "alumnus_id": "alm_sample", "status": "waitlisted", "waitlist_position": 3, "hosted_event": _HOSTED,
        "confirmed_at": "2026-12-01T09:00:00Z",
    },
    "com.alumni.event.waitlist-promoted.v1": {"event_id": "evt_1", "alumnus_id": "alm_sample", "hosted_event": _HOSTED, "promoted_at": "2026-12-02T09:00:00Z"},
    "com.alumni.event.updated.v1": {"event_id": "evt_1", "hosted_event": _HOSTED | {"sequence": 1}, "alumnus_ids": ["alm_sample"], "changed": ["starts_at"]},
    "com.alumni.event.reminder-due.v1": {"event_id": "evt_1", "hosted_event": _HOSTED, "alumnus_ids": ["alm_sample"]},
    "com.alumni.event.rsvp-recorded.v1": {"event_id": "evt_1", "alumnus_id": "alm_sample", "response": "yes", "recorded_at": "2026-12-01T09:00:00Z"},
    "com.alumni.event.cancelled.v1": {
        "event_id": "evt_1", "reason": "The venue is closed.", "cancelled_at": "2027-01-10T09:00:00Z", "hosted_event": _HOSTED | {"sequence": 2},
    },
}


def sample_payload(ce_type: str) -> dict[str, Any]:
    """The sample, validated by its model and dumped as JSON-ready data (as templates see events)."""
    return registry.get(ce_type).model.model_validate(SAMPLES[ce_type]).model_dump(mode="json")


# What a message gets only when it is sent (services/notifications/links.py), as a sample.
SEND_TIME = {
    "com.alumni.offboarding.exit-form-issued.v2": {"form_url": "https://alumni.example/exit-form/sample-token"},
    "com.alumni.alumnus.email-confirmation-requested.v1": {"confirm_url": "https://alumni.example/email-confirmation/sample-token"},
    "com.alumni.event.invitations-issued.v1": {
        "rsvp_urls": {r: f"https://alumni.example/rsvp/sample-{r}" for r in ("yes", "no", "maybe")},
    },
}


def sample_context(ce_type: str, locale: str, *, consent_gated: bool) -> dict[str, Any]:
    return {
        "event": sample_payload(ce_type) | SEND_TIME.get(ce_type, {}),
        "recipient": {"first_name": "Élodie", "last_name": "Martin", "locale": locale},
        "portal_url": "https://alumni.example",
        "unsubscribe_url": "https://alumni.example/unsubscribe/sample" if consent_gated else None,
    }
