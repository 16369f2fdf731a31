"""The FastStream Kafka broker every service uses, configured for the platform's guarantees."""

from collections.abc import Sequence
from typing import Any

from faststream.kafka import KafkaBroker

from shared import kafka_fixes
from shared.settings import ServiceSettings

kafka_fixes.apply()


def build_broker(service: str, settings: ServiceSettings, middlewares: Sequence[Any] = ()) -> KafkaBroker:
    return KafkaBroker(
        settings.kafka_bootstrap_servers,
        client_id=service,
        # FastStream defaults to acks=1 without idempotence; the platform needs both.
        enable_idempotence=True,
        acks="all",
        # Topics are created explicitly from shared.topics, never by a typo.
        allow_auto_create_topics=False,
        graceful_timeout=settings.shutdown_timeout_seconds,
        middlewares=middlewares,
        # Handlers take the message as it comes (see shared.consumer.whole_message): no dependency
        # injection, whose per-message context lookup runs in a worker thread.
        apply_types=False,
        logger=None,  # handlers log what matters, in JSON; FastStream's per-message lines are noise
    )


def consumer_group(service: str, topic: str) -> str:
    """One consumer group per service and topic: a rebalance on one topic (a replica joining, a
    consumer restarting) never pauses the service's other topics."""
    return f"{service}.{topic}"
