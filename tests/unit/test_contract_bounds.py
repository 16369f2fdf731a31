"""Every string and every list of every event in the catalog has a bound, so that no input can
make an event the broker refuses (and the serialised size is checked again when publishing)."""

import pytest
from pydantic.json_schema import models_json_schema

from shared.events import registry
from shared.events.alumni import AlumnusProfile, ProfileChanges
from shared.messaging.outbox import MAX_EVENT_BYTES

# Formats whose validators bound the length themselves (an email address: 254 characters at most).
SELF_BOUNDED_FORMATS = {"email", "date", "date-time", "uuid"}
# Free-form by design, bounded by the event's serialised size: a delivery's template variables.
UNBOUNDED_BY_DESIGN = {("DeliveryRequest", "context"), ("EmailRequested", "context"), ("BulkEmailRequested", "context"), ("ChatPostRequested", "context")}
# Bounded by their validator, which JSON Schema cannot say: an amount has at most 12 digits.
BOUNDED_BY_VALIDATOR = {("ReferralBonusEarned", "amount")}


def unbounded(schema: dict, definitions: dict, where: str) -> list[str]:
    if "$ref" in schema:
        return []  # checked where it is defined
    found = []
    for option in schema.get("anyOf", []):
        found += unbounded(option, definitions, where)
    kind = schema.get("type")
    if kind == "string" and not ({"maxLength", "enum", "const", "pattern"} & schema.keys() or schema.get("format") in SELF_BOUNDED_FORMATS):
        found.append(where)
    if kind == "array":
        if "maxItems" not in schema:
            found.append(where)
        found += unbounded(schema.get("items", {}), definitions, where + "[]")
    if kind == "object" and "additionalProperties" in schema and "propertyNames" not in schema:
        if not isinstance(schema["additionalProperties"], dict) or schema["additionalProperties"] == {}:
            found.append(where)
    return found


def all_schemas() -> dict:
    _, definitions = models_json_schema([(t.model, "validation") for t in registry], ref_template="#/$defs/{model}")
    return definitions["$defs"]


@pytest.mark.parametrize("model", sorted(all_schemas()))
def test_every_string_and_list_is_bounded(model: str) -> None:
    schema = all_schemas()[model]
    problems = []
    for field, field_schema in schema.get("properties", {}).items():
        if (model, field) in UNBOUNDED_BY_DESIGN | BOUNDED_BY_VALIDATOR:
            continue
        problems += unbounded(field_schema, {}, f"{model}.{field}")
    assert not problems, f"unbounded: {problems}"


def test_a_full_profile_at_every_bound_stays_far_under_the_event_limit() -> None:
    longest = "x" * 500
    profile = AlumnusProfile.model_validate({
        "first_name": longest, "last_name": longest, "personal_email": "a" * 64 + "@" + "b" * 60 + ".example",
        "linkedin_url": "https://example.org/" + "p" * 2000, "profile_urls": ["https://example.org/" + "p" * 2000] * 10,
        "department": longest, "job_title": longest, "city": longest, "skills": [longest] * 50,
        "willing_to": ["mentor", "speak_at_events", "refer_candidates", "refer_clients", "answer_market_questions"],
    })
    assert len(profile.model_dump_json()) < MAX_EVENT_BYTES / 10


def test_an_amount_has_at_most_twelve_digits() -> None:
    from shared.events.referrals import ReferralBonusEarned

    bonus = {"referral_id": "r", "alumnus_id": "a", "currency": "EUR", "earned_at": "2026-01-01T00:00:00Z"}
    assert ReferralBonusEarned.model_validate(bonus | {"amount": "1500.00"}).amount == 1500
    with pytest.raises(ValueError):
        ReferralBonusEarned.model_validate(bonus | {"amount": "1" * 13})


def test_a_change_keeps_the_profile_bounds() -> None:
    with pytest.raises(ValueError):
        ProfileChanges.model_validate({"skills": ["sql"] * 2100})
