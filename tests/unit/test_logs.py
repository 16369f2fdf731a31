import json
import logging

from opentelemetry.sdk.trace import TracerProvider

from shared.observability.logs import JsonFormatter


def _record(message: str, **extra) -> logging.LogRecord:
    record = logging.LogRecord("alumni.test", logging.INFO, __file__, 1, message, (), None)
    record.__dict__.update(extra)
    return record


def test_a_log_line_is_one_json_object_with_extra_fields() -> None:
    line = JsonFormatter("identity").format(_record("alumnus registered", alumnus_id="a-1"))
    entry = json.loads(line)
    assert entry["service"] == "identity"
    assert entry["message"] == "alumnus registered"
    assert entry["alumnus_id"] == "a-1"
    assert "trace_id" not in entry


def test_a_log_line_inside_a_span_carries_its_trace_and_span_ids() -> None:
    tracer = TracerProvider().get_tracer("test")
    with tracer.start_as_current_span("handle") as span:
        entry = json.loads(JsonFormatter("identity").format(_record("inside")))
    context = span.get_span_context()
    assert entry["trace_id"] == format(context.trace_id, "032x")
    assert entry["span_id"] == format(context.span_id, "016x")
