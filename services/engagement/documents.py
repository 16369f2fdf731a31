"""How the engagement service's objects are stored: MongoDB documents to and from the domain's
objects, and the query that finds an audience in the projection of alumni."""

from typing import Any

from services.engagement.audience import Audience, KnownAlumnus
from services.engagement.domain import Answer, HostedEvent

_EVENT_FIELDS = (
    "title", "kind", "starts_at", "ends_at", "timezone", "locale", "description", "location", "online_url", "capacity",
    "status", "sequence", "created_at", "published_at", "cancelled_at", "reminded",
)


def event_to_document(e: HostedEvent) -> dict[str, Any]:
    return {"_id": e.event_id, "audience": e.audience.as_dict(), "speaker_alumni_ids": list(e.speaker_alumni_ids)} | {
        name: getattr(e, name) for name in _EVENT_FIELDS
    }


def event_from_document(d: dict[str, Any]) -> HostedEvent:
    return HostedEvent(
        event_id=d["_id"], audience=Audience.of(**d["audience"]), speaker_alumni_ids=tuple(d.get("speaker_alumni_ids", ())),
        seats_taken=d.get("seats_taken", 0), **{name: d.get(name) for name in _EVENT_FIELDS},
    )


def answer_to_document(a: Answer) -> dict[str, Any]:
    return {"_id": f"{a.event_id}|{a.alumnus_id}", "event_id": a.event_id, "alumnus_id": a.alumnus_id, "response": a.response,
            "status": a.status, "answered_at": a.answered_at, "ticket": a.ticket}


def answer_from_document(d: dict[str, Any]) -> Answer:
    return Answer(d["event_id"], d["alumnus_id"], d["response"], d["status"], d["answered_at"], d.get("ticket"))


def known_to_document(a: KnownAlumnus) -> dict[str, Any]:
    if a.erased:
        return {"_id": a.alumnus_id, "erased_at": a.erased_at}
    return {  # the id twice: `alumnus_id` has the index a mailing walks by ranges (repository.py)
        "_id": a.alumnus_id, "alumnus_id": a.alumnus_id, "locale": a.locale, "country": a.country, "department": a.department, "skills": list(a.skills),
        "willing_to": list(a.willing_to), "departure_years": list(a.departure_years), "boomerang": a.boomerang,
        "profile_version": a.profile_version, "consents": dict(a.consents), "consent_versions": dict(a.consent_versions),
    }


def known_from_document(d: dict[str, Any]) -> KnownAlumnus:
    if "erased_at" in d:
        return KnownAlumnus.tombstone(d["_id"], d["erased_at"])
    return KnownAlumnus(
        d["_id"], d.get("locale", "en"), d.get("country"), d.get("department"), tuple(d.get("skills", ())),
        tuple(d.get("willing_to", ())), tuple(d.get("departure_years", ())), d.get("boomerang", False),
        d.get("profile_version", 0), dict(d.get("consents", {})), dict(d.get("consent_versions", {})),
    )


def audience_selector(audience: Audience) -> dict[str, Any]:
    """The alumni `audience.invites`, as a query: consented to events (a tombstone has no consents)."""
    selector: dict[str, Any] = {"consents.events": True}
    if audience.countries:
        selector["country"] = {"$in": list(audience.countries)}
    if audience.departure_years:
        selector["departure_years"] = {"$in": list(audience.departure_years)}
    if audience.departments:
        selector["department"] = {"$in": list(audience.departments)}
    if audience.skills:
        selector["skills"] = {"$in": list(audience.skills)}
    if audience.willing_to:
        selector["willing_to"] = {"$in": list(audience.willing_to)}
    if audience.boomerangs_only:
        selector["boomerang"] = True
    return selector
