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

    assert NotificationsSettings(auth_jwt_secret=STRONG).weak_secrets() == [
        "EMAIL_CONFIRMATION_LINK_SECRET", "EXIT_FORM_LINK_SECRET", "RSVP_LINK_SECRET", "UNSUBSCRIBE_SECRET"
    ]
    from services.identity.app import Settings as IdentitySettings
    from services.engagement.app import Settings as EngagementSettings

    assert IdentitySettings(auth_jwt_secret=STRONG, erasure_hash_key=STRONG).weak_secrets() == ["EMAIL_CONFIRMATION_LINK_SECRET"]
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


def test_with_a_jwks_the_token_secret_is_not_needed_and_rs256_es256_are_the_default() -> None:
    settings = ServiceSettings(auth_jwks_url="https://idp.example/.well-known/jwks.json")
    settings.refuse_weak_secrets()  # the development AUTH_JWT_SECRET is never used: no refusal
    assert settings.jwt_algorithms() == ("RS256", "ES256") and settings.weak_secrets() == []
    both = ServiceSettings(auth_jwks_url="https://idp.example/jwks", auth_jwt_algorithms="RS256, HS256")
    assert both.jwt_algorithms() == ("RS256", "HS256") and both.weak_secrets() == ["AUTH_JWT_SECRET"]
    assert ServiceSettings().jwt_algorithms() == ("HS256",)


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"auth_jwt_algorithms": "none"}, "AUTH_JWT_ALGORITHMS names 'none'"),
        ({"auth_jwt_algorithms": "RS256", "auth_jwt_secret": STRONG}, "AUTH_JWKS_URL is not set"),
        ({"auth_jwks_url": "http://idp.example/jwks"}, "AUTH_JWKS_URL must be https"),
        ({"auth_jwks_url": "file:///etc/keys.json"}, "AUTH_JWKS_URL is not an http(s) URL"),
    ],
    ids=["none", "asymmetric without keys", "jwks over http", "not a url"],
)
def test_token_settings_that_cannot_be_safe_stop_the_service(settings: dict, message: str) -> None:
    with pytest.raises(InsecureConfiguration) as refused:
        ServiceSettings(**settings).refuse_weak_secrets()
    assert str(refused.value.code).startswith("refusing to start: ") and message in str(refused.value.code)


def test_a_jwks_over_http_is_accepted_in_development_mode_only() -> None:
    ServiceSettings(auth_jwks_url="http://127.0.0.1:9000/jwks", alumni_development_mode=True).refuse_weak_secrets()
