import pytest
from pydantic import BaseModel, EmailStr, ValidationError

from shared.messaging.failures import PermanentError, RetryPolicy, TransientError, describe, is_permanent


def test_backoff_grows_with_jitter_and_stays_under_its_cap() -> None:
    policy = RetryPolicy(attempts=8, base_delay=0.2, max_delay=3.0)
    for _ in range(200):
        delays = [policy.delay(n) for n in range(1, 8)]
        for n, delay in enumerate(delays, start=1):
            ceiling = min(3.0, 0.2 * 2 ** (n - 1))
            assert ceiling / 2 <= delay <= ceiling
        assert delays[0] < delays[2] < delays[4]
    assert len({RetryPolicy().delay(3) for _ in range(20)}) > 1  # jittered


def test_what_is_retried_and_what_is_not() -> None:
    class Contact(BaseModel):
        email: EmailStr

    with pytest.raises(ValidationError) as invalid:
        Contact(email="x")
    assert is_permanent(PermanentError("rule")) and is_permanent(invalid.value)
    assert not is_permanent(TransientError("outage")) and not is_permanent(TimeoutError())


def test_describe_names_fields_never_values() -> None:
    class Contact(BaseModel):
        email: EmailStr
        phone: int

    with pytest.raises(ValidationError) as invalid:
        Contact(email="jane.doe.private", phone="oh-six")
    text = describe(invalid.value)
    assert text.startswith("email: value is not a valid email address")
    assert "phone: Input should be a valid integer" in text
    assert "jane.doe.private" not in text and "oh-six" not in text
