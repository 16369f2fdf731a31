"""The routing table (routes.toml) as data the planner reads."""

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from shared.events import registry
from shared.events.types import Purpose

ROUTES_FILE = Path(__file__).with_name("routes.toml")
AUDIENCES = ("alumnus", "leaver", "address", "invitees", "attendees", "named")
MANY = ("invitees", "attendees", "named")  # an event's many alumni at once: a fan-out


@dataclass(frozen=True)
class Route:
    event: str
    template: str
    audience: str
    channel: Literal["email", "chat"]
    purpose: Purpose | None = None
    when: dict[str, Any] = field(default_factory=dict)

    @property
    def team(self) -> str | None:
        return self.audience.removeprefix("team:") if self.audience.startswith("team:") else None

    def applies_to(self, payload: dict[str, Any]) -> bool:
        return all(payload.get(k) == v for k, v in self.when.items())


@dataclass(frozen=True)
class RoutingTable:
    routes: tuple[Route, ...]
    silent: frozenset[str]


class RoutingError(Exception):
    pass


def load_routes(path: Path = ROUTES_FILE) -> RoutingTable:
    data = tomllib.loads(path.read_text())
    routes = []
    for raw in data.get("route", []):
        try:
            route = Route(
                event=raw["event"], template=raw["template"], audience=raw["audience"], channel=raw["channel"],
                purpose=Purpose(raw["purpose"]) if "purpose" in raw else None, when=raw.get("when", {}),
            )
        except (KeyError, ValueError) as exc:
            raise RoutingError(f"{path.name}: a route is malformed ({exc}): {raw}") from None
        registry.get(route.event)  # an unknown type is a mistake in the table
        if route.audience not in AUDIENCES and route.team is None:
            raise RoutingError(f"{path.name}: unknown audience {route.audience!r}")
        if route.channel not in ("email", "chat") or (route.channel == "chat") != (route.team is not None):
            raise RoutingError(f"{path.name}: {route.template}: email goes to people, chat to team channels")
        if any((r.event, r.audience, r.channel) == (route.event, route.audience, route.channel) for r in routes):
            # A delivery is (event, recipient, channel): two such messages would be one delivery.
            raise RoutingError(f"{path.name}: two routes of {route.event} to {route.audience} by {route.channel}")
        routes.append(route)
    return RoutingTable(tuple(routes), frozenset(data.get("silent", {}).get("types", [])))


def fan_out_topics(table: RoutingTable) -> set[str]:
    """The topics whose routed events all go to many alumni at once (an invitation, a reminder):
    the bulk stream's, with the consent-gated sends (services/notifications/app.py)."""
    many = {r.event for r in table.routes if r.audience in MANY}
    few = {r.event for r in table.routes if r.audience not in MANY}
    return {t.topic for t in registry if t.type in many} - {t.topic for t in registry if t.type in few}
