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
        (jwt.encode({"sub": "pm", "exp": int(time.time()) + 60}, "another-secret-of-at-least-32-bytes", algorithm="HS256"), "Signature verification failed"),
        (jwt.encode({"sub": "pm"}, SECRET, algorithm="HS256"), 'Token is missing the "exp" claim'),
        ("not-a-jwt", "the token is not valid"),
    ],
)
def test_invalid_tokens_are_401(token: str, message: str) -> None:
    with pytest.raises(HTTPException) as refused:
        TokenVerifier(SECRET).verify(token)
    assert refused.value.status_code == 401 and message in refused.value.detail


def test_issuer_and_audience_are_checked_when_configured() -> None:
    strict = TokenVerifier(SECRET, issuer="https://idp.example", audience="alumni")
    assert strict.verify(strict.issue("pm", ["alumni:read"])).subject == "pm"
    with pytest.raises(HTTPException, match="401"):
        strict.verify(TokenVerifier(SECRET).issue("pm", ["alumni:read"]))
