"""Notifications' two message streams (MESSAGE_STREAM): a bulk deployment reads the fan-outs and
the consent-gated sends, a transactional one the rest, and together they read every topic."""

import pytest

from services.notifications.app import Settings, build
from services.notifications.routing import Route, RoutingTable, fan_out_topics, load_routes
from shared.events.engagement import EventInvitationsIssued, EventUpdated
from shared.events.notifications import BulkEmailsRequested, EmailRequested
from shared.events.alumni import AlumnusRegistered
from shared.messaging.router import EventRouter


def subscribed(stream: str) -> set[str]:
    return set(build(Settings(message_stream=stream, alumni_development_mode=True)).state.runtime.subscriptions)


def test_the_two_streams_split_every_topic_between_them() -> None:
    everything, bulk, transactional = subscribed("all"), subscribed("bulk"), subscribed("transactional")
    assert bulk | transactional == everything and not bulk & transactional
    assert bulk == fan_out_topics(load_routes()) | {BulkEmailsRequested.event_type.topic}
    assert {EventInvitationsIssued.event_type.topic, BulkEmailsRequested.event_type.topic} <= bulk
    # One person's email, its projection and its send stay with the transactional stream.
    assert {AlumnusRegistered.event_type.topic, EmailRequested.event_type.topic} <= transactional


def test_a_topic_with_one_event_for_one_person_is_not_a_fan_out() -> None:
    many = Route(event=EventUpdated.event_type.type, template="event_updated", audience="named", channel="email")
    assert fan_out_topics(RoutingTable((many,), frozenset())) == {EventUpdated.event_type.topic}
    one = Route(event=EventUpdated.event_type.type, template="event_updated_host", audience="alumnus", channel="email")
    assert fan_out_topics(RoutingTable((many, one), frozenset())) == set()


def test_an_unknown_stream_is_refused() -> None:
    with pytest.raises(ValueError, match="message_stream"):
        Settings(message_stream="urgent", alumni_development_mode=True)


def test_a_router_cannot_be_told_to_read_a_topic_it_has_no_handler_for() -> None:
    events = EventRouter()

    @events.on(AlumnusRegistered)
    async def registered(event, ctx) -> None: ...

    with pytest.raises(ValueError, match="alumni.notification.email"):
        events.consume_only({EmailRequested.event_type.topic})
    events.consume_only(set())
    assert events.topics() == [] and events.handled_topics() == {AlumnusRegistered.event_type.topic}
