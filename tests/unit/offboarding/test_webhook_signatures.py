"""Each source's signature scheme, checked against signatures computed independently here."""

import base64
import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta

import pytest

from services.offboarding.intake.signatures import SignatureRefused, verify_bamboohr, verify_generic, verify_hibob
from services.offboarding.intake.vendors import country_code, day, departure_reason, e164
from shared.events.types import DepartureReason

NOW = datetime(2026, 11, 22, 9, tzinfo=UTC)
BODY = b'{"employee_id":"E-1"}'
TS = str(int(NOW.timestamp()))


def _headers(**h: str) -> dict[str, str]:
    return {k.lower(): v for k, v in h.items()}


def test_generic_hmac_sha256_over_timestamp_dot_body() -> None:
    signature = "sha256=" + hmac.new(b"s3cret", f"{TS}.".encode() + BODY, hashlib.sha256).hexdigest()
    assert verify_generic(_headers(**{"X-Timestamp": TS, "X-Signature": signature}), BODY, "s3cret", NOW, 300) == signature
    with pytest.raises(SignatureRefused, match="bad signature"):
        verify_generic(_headers(**{"X-Timestamp": TS, "X-Signature": signature}), BODY + b" ", "s3cret", NOW, 300)
    with pytest.raises(SignatureRefused, match="stale request"):
        verify_generic(_headers(**{"X-Timestamp": TS, "X-Signature": signature}), BODY, "s3cret", NOW + timedelta(minutes=6), 300)


def test_bamboohr_hmac_sha256_hex_over_body_then_timestamp() -> None:
    signature = hmac.new(b"private-key", BODY + TS.encode(), hashlib.sha256).hexdigest()
    headers = _headers(**{"X-BambooHR-Timestamp": TS, "X-BambooHR-Signature": signature.upper()})
    assert verify_bamboohr(headers, BODY, "private-key", NOW, 300) == signature
    iso = NOW.isoformat().replace("+00:00", "Z")
    iso_signature = hmac.new(b"private-key", BODY + iso.encode(), hashlib.sha256).hexdigest()
    assert verify_bamboohr(_headers(**{"X-BambooHR-Timestamp": iso, "X-BambooHR-Signature": iso_signature}), BODY, "private-key", NOW, 300)
    with pytest.raises(SignatureRefused, match="missing header X-BambooHR-Signature"):
        verify_bamboohr(_headers(**{"X-BambooHR-Timestamp": TS}), BODY, "private-key", NOW, 300)


def test_hibob_base64_hmac_sha512_over_body_fresh_by_triggered_at() -> None:
    body = json.dumps({"type": "employee.left", "triggeredAt": NOW.isoformat()}).encode()
    signature = base64.b64encode(hmac.new(b"bob", body, hashlib.sha512).digest()).decode()
    assert verify_hibob(_headers(**{"Bob-Signature": signature}), body, "bob", NOW, 300) == signature
    with pytest.raises(SignatureRefused, match="stale request"):
        verify_hibob(_headers(**{"Bob-Signature": signature}), body, "bob", NOW + timedelta(hours=1), 300)
    undated = b'{"type": "employee.left"}'
    undated_signature = base64.b64encode(hmac.new(b"bob", undated, hashlib.sha512).digest()).decode()
    with pytest.raises(SignatureRefused, match="no triggeredAt"):
        verify_hibob(_headers(**{"Bob-Signature": undated_signature}), undated, "bob", NOW, 300)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("Resignation", DepartureReason.RESIGNATION),
        ("Voluntary - new job", DepartureReason.RESIGNATION),
        ("Involuntary", DepartureReason.LAYOFF),
        ("Redundancy", DepartureReason.LAYOFF),
        ("Terminated for cause", DepartureReason.TERMINATION_FOR_CAUSE),
        ("Involuntary - gross misconduct", DepartureReason.TERMINATION_FOR_CAUSE),
        ("Rupture conventionnelle", DepartureReason.MUTUAL_AGREEMENT),
        ("End of contract", DepartureReason.END_OF_CONTRACT),
        ("Retired", DepartureReason.RETIREMENT),
        (None, DepartureReason.OTHER),
    ],
)
def test_vendor_termination_reasons(text: str | None, reason: DepartureReason) -> None:
    assert departure_reason(text) is reason


def test_vendor_values_normalised_to_the_contract() -> None:
    assert e164("+33 6 12.34-56 78") == "+33612345678" and e164("0044 20 7946 0000") == "+442079460000"
    assert e164("06 12 34 56 78") is None
    assert country_code(" fr ") == "FR" and country_code("France") is None
    assert str(day("2026-11-15")) == "2026-11-15" and str(day("15/11/2026")) == "2026-11-15"
    assert day("0000-00-00") is None and day("") is None
