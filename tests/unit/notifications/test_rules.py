from pathlib import Path

import pytest

from services.notifications.channels import ChatChannel, payload
from services.notifications.handlers import OWN, PROJECTED
from services.notifications.routing import RoutingError, load_routes
from services.notifications.samples import sample_context
from services.notifications.templating import Templates, TemplateError, check_templates
from shared.events import registry
from tests.unit.notifications.fakes import InMemoryNotifications

TEMPLATES = Path(__file__).resolve().parents[3] / "services" / "notifications" / "templates"


def test_every_event_type_of_the_catalog_is_routed_or_silent() -> None:
    table = load_routes()
    routed = {r.event for r in table.routes}
    own = {m.event_type.type for m in OWN}
    assert not routed & table.silent
    assert {t.type for t in registry} - own <= routed | table.silent, "an event type with no decision in routes.toml"
    assert all(r.purpose is not None for r in table.routes if r.audience == "invitees")


def test_the_planner_reads_routed_and_projected_events_only() -> None:
    table = load_routes()
    read = set(InMemoryNotifications(channels={}).events.handlers)
    assert {r.event for r in table.routes} <= read
    assert {m.event_type.type for m in PROJECTED} <= read
    assert "com.alumni.notification.delivered.v1" not in read and "com.alumni.employee.departed.v1" not in read


def test_events_routed_only_to_unconfigured_chat_channels_are_read_and_skipped() -> None:
    table = load_routes()
    chat_only = {r.event for r in table.routes} - {r.event for r in table.routes if r.team is None}
    assert "com.alumni.offboarding.completed.v1" in chat_only
    unconfigured = InMemoryNotifications(channels={}).events
    assert unconfigured.skipped == chat_only
    assert "com.alumni.alumnus.registered.v1" not in unconfigured.skipped  # its welcome email still goes
    hook = ChatChannel(url="http://127.0.0.1:9/hook", format="slack")
    configured = InMemoryNotifications(channels={"hr": hook, "community": hook}).events
    assert configured.skipped == set()


def test_every_route_renders_in_every_locale() -> None:
    check_templates(load_routes(), Templates())


def test_a_missing_variable_or_template_stops_the_service_at_start_up(tmp_path: Path) -> None:
    for file in TEMPLATES.iterdir():
        (tmp_path / file.name).write_text(file.read_text())
    (tmp_path / "welcome.fr.txt.j2").write_text("Subject: Bonjour {{ recipient.nickname }}\n\nx")
    (tmp_path / "referral_bonus.en.txt.j2").unlink()
    (tmp_path / "referral_bonus.fr.txt.j2").unlink()
    with pytest.raises(TemplateError) as broken:
        check_templates(load_routes(), Templates(tmp_path))
    assert "welcome.fr.txt.j2" in str(broken.value) and "nickname" in str(broken.value)
    assert "no template referral_bonus.en.txt.j2" in str(broken.value)


def test_a_locale_without_its_file_falls_back_to_english(tmp_path: Path) -> None:
    (tmp_path / "note.en.chat.j2").write_text("hello {{ name }}")
    assert Templates(tmp_path).chat("note", "fr", {"name": "Zoé"}) == "hello Zoé"


def test_html_is_escaped_and_text_is_not() -> None:
    email = Templates().email("event_invitation", "en", sample_context("com.alumni.event.invitations-issued.v1", "en", consent_gated=True))
    assert "Apéritif & retrouvailles <3" in email.text
    assert "Apéritif &amp; retrouvailles &lt;3" in email.html and "Unsubscribe</a>" in email.html


def test_a_malformed_table_is_refused(tmp_path: Path) -> None:
    bad = tmp_path / "routes.toml"
    bad.write_text('[[route]]\nevent = "com.alumni.alumnus.registered.v1"\ntemplate = "x"\naudience = "team:hr"\nchannel = "email"\n')
    with pytest.raises(RoutingError, match="email goes to people, chat to team channels"):
        load_routes(bad)


@pytest.mark.parametrize(
    ("fmt", "expected"),
    [
        ("slack", {"text": "hi"}),
        ("discord", {"content": "hi", "allowed_mentions": {"parse": []}}),
    ],
)
def test_chat_payloads(fmt: str, expected: dict) -> None:
    assert payload(ChatChannel(format=fmt, url="http://x"), "hi") == expected


def test_teams_gets_an_adaptive_card() -> None:
    card = payload(ChatChannel(format="teams", url="http://x"), "hi")
    assert card["type"] == "message"
    [attachment] = card["attachments"]
    assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
    assert attachment["content"]["body"] == [{"type": "TextBlock", "text": "hi", "wrap": True}]
