"""Event payloads and the registry that maps each CloudEvents type to its model, topic and key.

A payload model declares its contract once, with the decorator:

    @event_type("com.alumni.employee.departed.v1", topic="hris.employee.departed", key="employee_id")
    class EmployeeDeparted(Event): ...

`ce_type` carries the major version: a breaking change is a new type (…v2) on the same topic,
and both are registered while consumers migrate.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from shared.topics import CATALOG

PERSONAL_DATA = {"x-personal-data": True}


def personal(**kwargs: Any) -> Any:
    """A field holding personal data: it may travel in the events that need it, never in logs,
    span attributes or metric labels. The AsyncAPI catalog marks it."""
    return Field(json_schema_extra=PERSONAL_DATA, **kwargs)


class Event(BaseModel):
    """Base of every payload. Readers ignore fields they do not know (forward compatibility)."""

    model_config = ConfigDict(extra="ignore", frozen=True, str_strip_whitespace=True)

    event_type: ClassVar["EventType"]

    @property
    def key(self) -> str:
        return str(getattr(self, self.event_type.key))


class UnknownEventType(Exception):
    def __init__(self, ce_type: str) -> None:
        super().__init__(f"unknown event type {ce_type!r}")
        self.ce_type = ce_type


@dataclass(frozen=True)
class EventType:
    type: str  # the CloudEvents `ce_type`, e.g. com.alumni.employee.departed.v1
    model: type[Event]
    topic: str
    key: str  # the payload field that is the record key (the aggregate's id)
    summary: str

    @property
    def name(self) -> str:
        return self.model.__name__


class Registry:
    def __init__(self, topics: set[str] | None = None) -> None:
        self._by_type: dict[str, EventType] = {}
        self._topics = topics if topics is not None else {t.name for t in CATALOG}

    def add(self, event_type: EventType) -> None:
        if event_type.type in self._by_type:
            raise ValueError(f"event type {event_type.type} registered twice")
        if event_type.topic not in self._topics:
            raise ValueError(f"{event_type.type}: topic {event_type.topic} is not a topic of this catalog")
        if event_type.key not in event_type.model.model_fields:
            raise ValueError(f"{event_type.type}: key field {event_type.key!r} is not a field of {event_type.name}")
        self._by_type[event_type.type] = event_type

    def get(self, ce_type: str) -> EventType:
        try:
            return self._by_type[ce_type]
        except KeyError:
            raise UnknownEventType(ce_type) from None

    def __iter__(self):
        return iter(self._by_type.values())


registry = Registry()

E = TypeVar("E", bound=type[Event])


def event_type(ce_type: str, *, topic: str, key: str, catalog: Registry = registry) -> Callable[[E], E]:
    def register(model: E) -> E:
        summary = (model.__doc__ or "").strip().split("\n\n")[0].replace("\n", " ")
        model.event_type = EventType(ce_type, model, topic, key, summary)
        catalog.add(model.event_type)
        return model

    return register
