"""Chat channels (`CHAT_CHANNELS`, JSON), each an outgoing webhook in one of three formats:

    {"hr":         {"format": "slack",   "url": "https://hooks.slack.com/services/...", "per_second": 1},
     "recruiting": {"format": "teams",   "url": "https://...webhook.office.com/...", "recipient_kind": "recruiter"},
     "community":  {"format": "discord", "url": "https://discord.com/api/webhooks/...", "recipient_kind": "community_channel"}}
"""

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr


class ChatChannel(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    format: Literal["slack", "teams", "discord"]
    url: SecretStr  # a webhook URL is a credential
    per_second: float = Field(default=1.0, gt=0)  # the webhook's rate limit
    locale: Literal["en", "fr"] = "en"
    recipient_kind: Literal["team_channel", "community_channel", "recruiter"] = "team_channel"


DISCORD_LIMIT = 2000


def slack_escaped(text: str) -> str:
    """Slack reads `<...>` as mentions (`<!channel>`), links (`<https://x|click>`) and dates: the
    three characters it asks to escape are escaped, so a name an alumnus typed stays text."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def payload(channel: ChatChannel, text: str) -> dict[str, Any]:
    """The JSON each kind of webhook expects."""
    if channel.format == "slack":
        return {"text": slack_escaped(text)}
    if channel.format == "discord":
        return {"content": text[:DISCORD_LIMIT], "allowed_mentions": {"parse": []}}
    return {  # Microsoft Teams: an Adaptive Card in a message
        "type": "message",
        "attachments": [
            {
                "contentType": "application/vnd.microsoft.card.adaptive",
                "content": {
                    "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
                    "type": "AdaptiveCard",
                    "version": "1.4",
                    "body": [{"type": "TextBlock", "text": text, "wrap": True}],
                },
            }
        ],
    }
