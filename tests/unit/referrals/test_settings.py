"""The referrals service refuses to start with a weak or development ATS webhook secret outside
development mode, and reads its rules file at start-up."""

import json

import pytest

from services.referrals.app import Settings, build
from shared.settings import DEVELOPMENT_ATS_WEBHOOK_SECRET, InsecureConfiguration

STRONG = "a-jwt-secret-for-production-of-32-chars"


@pytest.mark.parametrize("secret", [DEVELOPMENT_ATS_WEBHOOK_SECRET, "short"])
def test_a_weak_ats_secret_stops_the_service(monkeypatch, secret: str) -> None:
    monkeypatch.setenv("ATS_SOURCES", json.dumps({"gh": {"kind": "greenhouse", "secret": secret}}))
    monkeypatch.setenv("AUTH_JWT_SECRET", STRONG)
    with pytest.raises(InsecureConfiguration, match="ATS_SOURCES.gh.secret"):
        build(Settings())


def test_strong_secrets_build_the_service(monkeypatch) -> None:
    monkeypatch.setenv("ATS_SOURCES", json.dumps({"gh": {"kind": "greenhouse", "secret": "s" * 40}}))
    monkeypatch.setenv("AUTH_JWT_SECRET", STRONG)
    app = build(Settings())
    paths = app.openapi()["paths"]
    assert {"/referrals", "/referrals/stats", "/bonuses", "/candidates", "/webhooks/ats/{source_name}"} <= set(paths)
