"""`DELETE /candidates?email=` carries an address in its query string: the request's span, as
the real FastAPI instrumentation records it with the referrals service's redaction, keeps it out."""

import httpx
from fastapi import FastAPI
from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from shared.web.redaction import redact_paths


async def test_the_candidate_address_never_reaches_a_span() -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    app = FastAPI()

    @app.delete("/candidates")
    async def erase(email: str) -> dict:
        return {"referrals": 0}

    FastAPIInstrumentor.instrument_app(app, tracer_provider=provider, server_request_hook=redact_paths(("/candidates",)))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://referrals") as http:
        assert (await http.delete("/candidates", params={"email": "hugo.secret@example.org"})).status_code == 200
    spans = exporter.get_finished_spans()
    assert spans
    recorded = " ".join(f"{s.name} {dict(s.attributes or {})}" for s in spans)
    assert "hugo.secret" not in recorded and "example.org" not in recorded
