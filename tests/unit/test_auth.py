import time

import jwt
import pytest
from fastapi import HTTPException

from shared.web.auth import TokenVerifier

SECRET = "unit-test-secret-of-at-least-32-bytes"


def test_scopes_nest_and_an_alumnus_token_names_its_alumnus() -> None:
    verifier = TokenVerifier(SECRET)
    admin = verifier.verify(verifier.issue("pm", ["alumni:admin"]))
    alumnus = verifier.verify(verifier.issue("alumnus:alm_1", ["alumni:self"]))
    staff_named_like_an_alumnus = verifier.verify(verifier.issue("alumnus:alm_1", ["alumni:read"]))
    assert admin.scopes == {"alumni:admin", "alumni:write", "alumni:read"}
    assert admin.alumnus_id is None
    assert alumnus.alumnus_id == "alm_1" and alumnus.scopes == {"alumni:self"}
    assert staff_named_like_an_alumnus.alumnus_id is None  # the subject alone opens nothing


@pytest.mark.parametrize(
    ("token", "message"),
    [
        (jwt.encode({"sub": "pm", "exp": int(time.time()) - 1}, SECRET, algorithm="HS256"), "the token has expired"),
        (jwt.encode({"sub": "pm", "exp": int(time.time()) + 3600}, "another-secret-of-at-least-32-bytes", algorithm="HS256"), "InvalidSignatureError"),
        (jwt.encode({"sub": "pm"}, SECRET, algorithm="HS256"), "MissingRequiredClaimError"),
        ("not-a-jwt", "the token is not valid (DecodeError)"),
        (jwt.encode({"sub": "pm", "exp": int(time.time()) + 30 * 86400}, SECRET, algorithm="HS256"), "lives longer than the 43200 seconds"),
        (jwt.encode({"sub": "pm", "iat": int(time.time()) - 86400, "exp": int(time.time()) + 3600}, SECRET, algorithm="HS256"), "lives longer"),
        (jwt.encode({"sub": "pm", "exp": int(time.time()) + 3600}, SECRET, algorithm="HS512"), "InvalidAlgorithmError"),
        (jwt.encode({"sub": "pm", "exp": int(time.time()) + 3600}, "", algorithm="none"), "the token is not valid"),
    ],
    ids=["expired", "forged", "no exp", "malformed", "a month long", "issued a day ago", "another algorithm", "unsigned"],
)
def test_invalid_tokens_are_401_and_say_which_check_failed_without_the_library_text(token: str, message: str) -> None:
    with pytest.raises(HTTPException) as refused:
        TokenVerifier(SECRET).verify(token)
    assert refused.value.status_code == 401 and message in refused.value.detail
    assert "Signature verification failed" not in refused.value.detail and "claim" not in refused.value.detail


def test_issuer_and_audience_are_checked_when_configured() -> None:
    strict = TokenVerifier(SECRET, issuer="https://idp.example", audience="alumni")
    assert strict.verify(strict.issue("pm", ["alumni:read"])).subject == "pm"
    with pytest.raises(HTTPException, match="401"):
        strict.verify(TokenVerifier(SECRET).issue("pm", ["alumni:read"]))
