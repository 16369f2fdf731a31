"""Kafka, through FastStream, behind this one module.

The rest of the platform sees a `KafkaBus`: it publishes records (idempotent producer,
`acks=all`), hands every subscribed record whole (an aiokafka `ConsumerRecord`) to a handler
together with the consumer that read it (for offset commits), and traces produce and consume
with FastStream's OpenTelemetry middleware. Replacing FastStream means rewriting this module.
"""

import asyncio
import dataclasses
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from aiokafka import ConsumerRecord
from faststream import AckPolicy
from faststream.kafka import KafkaBroker, KafkaMessage
from faststream.kafka.opentelemetry import KafkaTelemetryMiddleware
from faststream.kafka.prometheus import KafkaPrometheusMiddleware
from faststream.security import BaseSecurity, SASLPlaintext, SASLScram256, SASLScram512
from opentelemetry.metrics import NoOpMeterProvider
from opentelemetry.sdk.trace import TracerProvider
from prometheus_client import CollectorRegistry

from shared.messaging.kafka_security import KafkaSecurity

RecordHandler = Callable[[ConsumerRecord, Any], Awaitable[None]]


class Publisher(Protocol):
    """What the outbox relay and the dead-letter writer need from Kafka."""

    async def publish(self, value: bytes, topic: str, *, key: bytes | None, headers: dict[str, str], confirm: bool = True) -> Any:
        """With `confirm=False`, returns an awaitable of the broker's acknowledgement."""


class KafkaBus:
    def __init__(
        self,
        bootstrap_servers: str,
        *,
        client_id: str,
        shutdown_timeout: float,
        tracer_provider: TracerProvider,
        registry: CollectorRegistry,
        security: KafkaSecurity = KafkaSecurity(),
    ) -> None:
        self.broker = KafkaBroker(
            bootstrap_servers,
            client_id=client_id,
            security=_faststream_security(security),
            # FastStream defaults to acks=1 without idempotence; the platform needs both.
            enable_idempotence=True,
            acks="all",
            # Topics are created explicitly from shared.topics, never by a typo.
            allow_auto_create_topics=False,
            graceful_timeout=shutdown_timeout,
            middlewares=[
                # Spans only: the Prometheus middleware counts and times the messages; the same
                # figures again as OpenTelemetry histograms cost a record per message and scrape.
                KafkaTelemetryMiddleware(tracer_provider=tracer_provider, meter_provider=NoOpMeterProvider()),
                KafkaPrometheusMiddleware(registry=registry, app_name=client_id),
            ],
            # Handlers take the message as it comes: no dependency injection, whose per-message
            # context lookup runs in a worker thread.
            apply_types=False,
            logger=None,  # handlers log what matters, in JSON; FastStream's per-message lines are noise
        )

    async def publish(self, value: bytes, topic: str, *, key: bytes | None, headers: dict[str, str], confirm: bool = True) -> Any:
        return await self.broker.publish(value, topic, key=key, headers=headers, no_confirm=not confirm)

    def subscribe(self, topic: str, *, group: str, workers: int, fetch_max_wait_ms: int, handle: RecordHandler) -> None:
        """Records of `topic` reach `handle(record, consumer)`; it commits offsets itself, once
        their effects are durable. A new group starts from the topic's beginning."""

        async def on_message(message: KafkaMessage) -> None:
            await handle(message.raw_message, message.consumer)

        self.broker.subscriber(
            topic,
            group_id=group,
            ack_policy=AckPolicy.MANUAL,
            auto_offset_reset="earliest",
            max_workers=workers,
            parser=_tolerant_parser,
            decoder=_whole_message,
            title=group,
            fetch_max_wait_ms=fetch_max_wait_ms,
        )(on_message)

    async def start(self) -> None:
        await self.broker.start()

    async def stop_consuming(self) -> None:
        """Stop every subscriber; handlers in flight finish (within the graceful timeout)."""
        await asyncio.gather(*(subscriber.stop() for subscriber in self.broker.subscribers))

    async def stop(self) -> None:
        await self.broker.stop()

    async def ping(self, timeout: float) -> bool:
        return await self.broker.ping(timeout=timeout)


SASL = {"PLAIN": SASLPlaintext, "SCRAM-SHA-256": SASLScram256, "SCRAM-SHA-512": SASLScram512}


def _faststream_security(security: KafkaSecurity) -> BaseSecurity | None:
    context = security.ssl_context()
    if security.sasl:
        return SASL[security.mechanism](security.username, security.password, ssl_context=context, use_ssl=security.tls)
    return BaseSecurity(ssl_context=context, use_ssl=True) if security.tls else None


async def _whole_message(message: KafkaMessage, decode: Callable[[KafkaMessage], Awaitable[Any]]) -> KafkaMessage:
    """The handler reads the raw record itself (a body that is not JSON would fail FastStream's
    decoding, silently), and needs its headers and offset: it is given the whole message."""
    return message


async def _tolerant_parser(record: ConsumerRecord, parse: Callable[[ConsumerRecord], Awaitable[KafkaMessage]]) -> KafkaMessage:
    """FastStream's parser decodes headers strictly (a null or non-UTF-8 value raises) and would
    fail before our handler runs, and the record would be passed over silently: give it a
    readable copy, keeping the original record, so that the handler dead-letters it."""
    try:
        return await parse(record)
    except Exception:
        readable = dataclasses.replace(record, headers=[(k, _readable(v)) for k, v in record.headers])
        if hasattr(record, "consumer"):
            readable.consumer = record.consumer
        message = await parse(readable)
        message.raw_message = record
        return message


def _readable(value: bytes | None) -> bytes:
    return b"" if value is None else value.decode(errors="replace").encode()
