"""No default or weak secret is accepted outside an explicit development mode."""

import pytest

from shared.settings import DEVELOPMENT_JWT_SECRET, InsecureConfiguration, ServiceSettings

STRONG = "a-production-secret-of-forty-characters!!"


@pytest.mark.parametrize("secret", [DEVELOPMENT_JWT_SECRET, "short", "x" * 31], ids=["the repository's default", "short", "31 characters"])
def test_a_default_or_weak_secret_stops_the_service_with_one_sentence(secret: str) -> None:
    with pytest.raises(InsecureConfiguration) as refused:
        ServiceSettings(auth_jwt_secret=secret).refuse_weak_secrets()
    message = str(refused.value.code)
    assert message.startswith("refusing to start: AUTH_JWT_SECRET is") and "ALUMNI_DEVELOPMENT_MODE=true" in message
    assert DEVELOPMENT_JWT_SECRET not in message  # the variable is named, never its value


def test_development_mode_accepts_the_development_secrets_and_says_which() -> None:
    settings = ServiceSettings(auth_jwt_secret=DEVELOPMENT_JWT_SECRET, alumni_development_mode=True)
    settings.refuse_weak_secrets()
    assert settings.weak_secrets() == ["AUTH_JWT_SECRET"]


def test_a_real_secret_is_accepted_outside_development_mode() -> None:
    ServiceSettings(auth_jwt_secret=STRONG).refuse_weak_secrets()


def test_the_switch_is_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ALUMNI_DEVELOPMENT_MODE", "true")
    assert ServiceSettings().alumni_development_mode
    monkeypatch.delenv("ALUMNI_DEVELOPMENT_MODE")
    assert not ServiceSettings().alumni_development_mode


def test_each_service_names_its_own_secrets() -> None:
    from services.notifications.app import Settings as NotificationsSettings
    from services.offboarding.app import Settings as OffboardingSettings

    from services.engagement.app import Settings as EngagementSettings

    assert NotificationsSettings(auth_jwt_secret=STRONG).weak_secrets() == ["EXIT_FORM_LINK_SECRET", "RSVP_LINK_SECRET", "UNSUBSCRIBE_SECRET"]
    assert EngagementSettings(auth_jwt_secret=STRONG).weak_secrets() == ["RSVP_LINK_SECRET"]
    assert EngagementSettings(auth_jwt_secret=STRONG, rsvp_link_secret=STRONG, rsvp_link_previous_secrets=["short"]).weak_secrets() == [
        "RSVP_LINK_PREVIOUS_SECRETS[0]"
    ]
    sources = {"workday": {"kind": "generic", "secret": "local-webhook-secret"}, "bob": {"kind": "hibob", "secret": STRONG}}
    offboarding = OffboardingSettings(auth_jwt_secret=STRONG, hris_sources=sources, exit_form_link_secret=STRONG, erasure_hash_key=STRONG)
    assert offboarding.weak_secrets() == ["HRIS_SOURCES.workday.secret"]
    with pytest.raises(InsecureConfiguration, match="HRIS_SOURCES.workday.secret is a development default"):
        offboarding.refuse_weak_secrets()
    assert OffboardingSettings(auth_jwt_secret=STRONG).weak_secrets() == ["ERASURE_HASH_KEY", "EXIT_FORM_LINK_SECRET"]
