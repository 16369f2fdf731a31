"""Outgoing HTTP calls are traced and carry the trace to the server (a real loopback server)."""

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from shared.observability.telemetry import instrument_http_clients


SECRET = "XXXXwebhook-secretXXXX"


def test_an_outgoing_request_gets_a_client_span_and_sends_traceparent() -> None:
    seen: dict[str, str] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802
            seen.update(self.headers)
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    HTTPXClientInstrumentor().uninstrument()  # whatever instrumented it before, this test's provider now
    instrument_http_clients(provider)
    try:
        with provider.get_tracer("test").start_as_current_span("deliver") as parent:
            httpx.post(f"http://127.0.0.1:{server.server_address[1]}/services/T000/B000/{SECRET}?token={SECRET}", json={"text": "hi"})
    finally:
        server.shutdown()

    [client] = [s for s in exporter.get_finished_spans() if s.kind == SpanKind.CLIENT]
    assert client.parent.span_id == parent.get_span_context().span_id
    assert client.attributes.get("http.response.status_code", client.attributes.get("http.status_code")) == 204
    # A webhook's URL is its credential: the span names the server only.
    assert not [value for value in client.attributes.values() if SECRET in str(value)]
    assert client.attributes["url.full"] == f"http://127.0.0.1:{server.server_address[1]}/{{redacted}}"
    trace_id = format(parent.get_span_context().trace_id, "032x")
    assert seen["traceparent"].split("-")[1] == trace_id
