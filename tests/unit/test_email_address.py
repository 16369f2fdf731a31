"""The payloads' email type: pydantic's EmailStr check, each address checked once while recent."""

import pytest
from pydantic import BaseModel, EmailStr, TypeAdapter, ValidationError

from shared.events import types
from shared.events.types import EmailAddress

OURS, PYDANTIC = TypeAdapter(EmailAddress), TypeAdapter(EmailStr)

SAMPLES = [
    "jane.doe@example.com",
    "  padded@example.com  ",
    "Jane Doe <jane@example.com>",
    "Ünïcode@exämple.com",
    "MiXeD@Example.COM",
    "no-at-sign.example.com",
    "two@@example.com",
    "trailing-dot@example.com.",
    "line\nbreak@example.com",
    "x@" + "a" * 2050 + ".com",
    "",
    "\udcff@example.com",
]


def outcome(adapter: TypeAdapter, value: str) -> str:
    try:
        return "ok:" + adapter.validate_python(value)
    except ValidationError as refused:
        return "refused:" + refused.errors()[0]["msg"]


@pytest.mark.parametrize("value", SAMPLES)
def test_it_accepts_refuses_and_normalizes_as_pydantic_does(value: str) -> None:
    assert outcome(OURS, value) == outcome(PYDANTIC, value)
    assert outcome(OURS, value) == outcome(PYDANTIC, value)  # the second time, from what was kept


def test_a_valid_address_is_checked_once_and_only_its_digest_is_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    real = types.validate_email

    def counting(value: str) -> tuple[str, str]:
        calls.append(value)
        return real(value)

    monkeypatch.setattr(types, "validate_email", counting)
    types._CHECKED_EMAILS.clear()
    for _ in range(3):
        OURS.validate_python("kept.once@example.com")
    assert calls == ["kept.once@example.com"]
    assert all(isinstance(key, bytes) and b"kept.once" not in key for key in types._CHECKED_EMAILS)


def test_an_address_refused_or_normalized_is_checked_every_time(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    real = types.validate_email
    monkeypatch.setattr(types, "validate_email", lambda value: calls.append(value) or real(value))
    types._CHECKED_EMAILS.clear()
    for _ in range(2):
        with pytest.raises(ValidationError):
            OURS.validate_python("not-an-address")
        assert OURS.validate_python("Name <named@example.com>") == "named@example.com"
    assert len(calls) == 4


def test_the_kept_digests_are_bounded() -> None:
    types._CHECKED_EMAILS.clear()
    for n in range(types._CHECKED_EMAILS_MAX + 10):
        OURS.validate_python(f"a{n}@example.com")
    assert len(types._CHECKED_EMAILS) <= types._CHECKED_EMAILS_MAX


def test_the_json_schema_is_pydantic_s() -> None:
    class Ours(BaseModel):
        email: EmailAddress

    class Theirs(BaseModel):
        email: EmailStr

    assert Ours.model_json_schema()["properties"]["email"] == Theirs.model_json_schema()["properties"]["email"]
