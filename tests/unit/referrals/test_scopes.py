"""The referrals scopes nest, and `./alumni token --scope referrals:admin` prints a token that
opens every referrals endpoint."""

import contextlib
import io

from devstack.cli import main
from shared.settings import DEVELOPMENT_JWT_SECRET
from shared.web.auth import TokenVerifier


def test_the_referrals_scopes_nest() -> None:
    verifier = TokenVerifier("unit-test-secret-of-at-least-32-bytes")
    assert verifier.verify(verifier.issue("pm", ["referrals:admin"])).scopes == {"referrals:admin", "referrals:write", "referrals:read"}
    assert verifier.verify(verifier.issue("pm", ["referrals:write"])).scopes == {"referrals:write", "referrals:read"}
    assert verifier.verify(verifier.issue("pm", ["referrals:read"])).scopes == {"referrals:read"}
    assert "alumni:read" not in verifier.verify(verifier.issue("pm", ["referrals:admin"])).scopes


def test_the_token_command_issues_a_referrals_admin_token(monkeypatch) -> None:
    monkeypatch.delenv("AUTH_JWT_SECRET", raising=False)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(["token", "--scope", "referrals:admin"]) == 0
    principal = TokenVerifier(DEVELOPMENT_JWT_SECRET).verify(out.getvalue().strip())
    assert "referrals:write" in principal.scopes
