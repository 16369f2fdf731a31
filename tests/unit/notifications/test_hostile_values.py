"""Values an alumnus types reach email headers and chat channels: they stay text there."""

import httpx
import pytest

from services.notifications.channels import ChatChannel, payload
from services.notifications.senders import MAX_RETRY_AFTER_SECONDS, _retry_after
from services.notifications.templating import Templates

SLACK = ChatChannel(format="slack", url="http://127.0.0.1:9/hook")


@pytest.mark.parametrize(
    ("name", "shown"),
    [
        ("<!channel>", "&lt;!channel&gt;"),
        ("<https://evil.example|HR portal>", "&lt;https://evil.example|HR portal&gt;"),
        ("Tom & Jerry", "Tom &amp; Jerry"),
        ("<@U024BE7LH>", "&lt;@U024BE7LH&gt;"),
    ],
    ids=["mention of everyone", "disguised link", "ampersand", "user mention"],
)
def test_slack_gets_a_name_as_text_never_as_a_mention_or_a_link(name: str, shown: str) -> None:
    text = payload(SLACK, f"New alumnus {name}.")["text"]
    assert text == f"New alumnus {shown}."
    assert "<" not in text and ">" not in text


def test_discord_and_teams_are_unchanged_discord_never_pings() -> None:
    assert payload(ChatChannel(format="discord", url="http://x"), "<@everyone>")["allowed_mentions"] == {"parse": []}


@pytest.mark.parametrize("name", ["Élodie\rBcc: everyone@example.org", "Élodie\r\nX-Injected: 1", "Élodie\x0bX", "Élodie\u2028X"])
def test_a_line_break_in_a_name_never_breaks_the_subject_line(name: str) -> None:
    context = {"event": {"profile": {"first_name": name, "last_name": "Martin"}, "boomerang": False},
               "recipient": {"first_name": name, "last_name": "Martin", "locale": "en"},
               "portal_url": "https://alumni.example", "unsubscribe_url": None}
    email = Templates().email("welcome", "en", context)
    assert "\r" not in email.subject and "\n" not in email.subject and "\x0b" not in email.subject
    assert "\r" not in email.text


@pytest.mark.parametrize(("header", "seconds"), [("inf", MAX_RETRY_AFTER_SECONDS), ("1e12", MAX_RETRY_AFTER_SECONDS),
                                                 ("nan", 1.0), ("-5", 0.0), ("12", 12.0), ("soon", 1.0)])
def test_a_webhooks_retry_after_is_bounded(header: str, seconds: float) -> None:
    assert _retry_after(httpx.Response(429, headers={"Retry-After": header})) == seconds
