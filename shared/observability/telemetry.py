"""OpenTelemetry for every service: traces and metrics configured by the standard `OTEL_*`
variables, exported over OTLP when an endpoint is set (nothing is exported otherwise), traces
also to Zipkin when `OTEL_TRACES_EXPORTER` names it (the local trace store), and metrics also
exposed to Prometheus on `/metrics`.

Spans carry identifiers, never personal data: MongoDB spans name the command and collection,
not the query; Kafka spans name topic, partition, offset and key (an aggregate id).
"""

import os
from dataclasses import dataclass
from typing import Any

from opentelemetry import metrics, trace
from opentelemetry.exporter.prometheus import PrometheusMetricReader
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import MetricReader, PeriodicExportingMetricReader
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.trace import SpanKind, Status, StatusCode
from pymongo import monitoring


def _exporters(signal: str) -> set[str]:
    """The exporters `OTEL_<signal>_EXPORTER` names (comma-separated, `otlp` by default); OTLP
    only once an endpoint is set, so that a service with no collector exports nothing."""
    env = os.environ
    if env.get("OTEL_SDK_DISABLED", "").lower() == "true":
        return set()
    names = {n.strip() for n in env.get(f"OTEL_{signal}_EXPORTER", "otlp").split(",")} - {"none", ""}
    if not (env.get("OTEL_EXPORTER_OTLP_ENDPOINT") or env.get(f"OTEL_EXPORTER_OTLP_{signal}_ENDPOINT")):
        names.discard("otlp")
    return names


@dataclass(frozen=True)
class Telemetry:
    tracer_provider: TracerProvider
    meter_provider: MeterProvider

    def shutdown(self) -> None:
        """Flush what is buffered: spans of the last requests must not be lost on SIGTERM."""
        self.tracer_provider.shutdown()
        self.meter_provider.shutdown()


def configure_telemetry(service: str) -> Telemetry:
    """Set the process-wide providers: called once, by the service factory (a process runs one
    service)."""
    # OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES take precedence over this default.
    resource = Resource.create({"service.name": f"alumni-{service}"} | _env_resource())
    tracer_provider = TracerProvider(resource=resource)
    traces_to = _exporters("TRACES")
    if "otlp" in traces_to:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        tracer_provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    if "zipkin" in traces_to:  # the local trace store (OTEL_EXPORTER_ZIPKIN_ENDPOINT)
        from opentelemetry.exporter.zipkin.json import ZipkinExporter

        tracer_provider.add_span_processor(BatchSpanProcessor(ZipkinExporter()))
    readers: list[MetricReader] = [PrometheusMetricReader()]
    if "otlp" in _exporters("METRICS"):
        from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter

        readers.append(PeriodicExportingMetricReader(OTLPMetricExporter()))
    meter_provider = MeterProvider(resource=resource, metric_readers=readers)
    trace.set_tracer_provider(tracer_provider)
    metrics.set_meter_provider(meter_provider)
    instrument_http_clients(tracer_provider, meter_provider)
    return Telemetry(tracer_provider, meter_provider)


URL_ATTRIBUTES = ("url.full", "http.url", "http.target", "url.path", "url.query")


def instrument_http_clients(tracer_provider: TracerProvider, meter_provider: MeterProvider | None = None) -> None:
    """A client span for every outgoing httpx request (vendor APIs, chat webhooks), which also
    carries `traceparent` to the server. A span records the server, never the path or query:
    a chat webhook's URL is its credential, a vendor's path names a worker."""
    from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor

    instrumentor = HTTPXClientInstrumentor()
    if not instrumentor.is_instrumented_by_opentelemetry:
        instrumentor.instrument(tracer_provider=tracer_provider, meter_provider=meter_provider, request_hook=_server_only)


def _server_only(span: trace.Span, request: Any) -> None:
    if not span.is_recording():
        return
    url = request.url if hasattr(request, "url") else request[1]
    redacted = f"{url.scheme.decode() if isinstance(url.scheme, bytes) else url.scheme}://{_host(url)}/{{redacted}}"
    for attribute in URL_ATTRIBUTES:
        span.set_attribute(attribute, redacted)


def _host(url: Any) -> str:
    host = url.host.decode() if isinstance(url.host, bytes) else url.host
    return f"{host}:{url.port}" if url.port else host


def _env_resource() -> dict[str, str]:
    attributes = {}
    for pair in filter(None, os.environ.get("OTEL_RESOURCE_ATTRIBUTES", "").split(",")):
        key, _, value = pair.partition("=")
        attributes[key.strip()] = value.strip()
    if name := os.environ.get("OTEL_SERVICE_NAME"):
        attributes["service.name"] = name
    return attributes


class MongoCommandSpans(monitoring.CommandListener):
    """A client span per MongoDB command, child of whatever span is current when it runs."""

    QUIET = frozenset({"hello", "ismaster", "isMaster", "ping", "endSessions", "saslStart", "saslContinue", "buildInfo"})

    def __init__(self, tracer_provider: trace.TracerProvider | None = None) -> None:
        self._spans: dict[tuple[int, int], trace.Span] = {}
        # Looked up once: the SDK's get_tracer builds a scope and filters warnings at every call.
        self._tracer = trace.get_tracer("alumni.mongodb", tracer_provider=tracer_provider)

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        if event.command_name in self.QUIET:
            return
        collection = event.command.get(event.command_name)
        attributes = {
            "db.system.name": "mongodb",
            "db.namespace": event.database_name,
            "db.operation.name": event.command_name,
        }
        if isinstance(collection, str):
            attributes["db.collection.name"] = collection
        host, port = event.connection_id
        attributes |= {"server.address": host, "server.port": port}
        name = f"{event.command_name} {collection}" if isinstance(collection, str) else event.command_name
        self._spans[(event.request_id, event.operation_id)] = self._tracer.start_span(name, kind=SpanKind.CLIENT, attributes=attributes)

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        if span := self._spans.pop((event.request_id, event.operation_id), None):
            span.end()

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        if span := self._spans.pop((event.request_id, event.operation_id), None):
            span.set_status(Status(StatusCode.ERROR, f"{event.failure.get('codeName', 'error')}"))
            span.end()
