"""`./alumni trace`: a trace from the trace store printed as a tree, children under their parent
in time order, a span whose parent is missing shown as a root."""

from devstack.trace import render_tree


def _span(span_id: str, name: str, service: str, at: int, duration: int, parent: str | None = None, **tags: str) -> dict:
    span = {"traceId": "t1", "id": span_id, "name": name, "timestamp": at, "duration": duration,
            "localEndpoint": {"serviceName": service}, "tags": tags}
    return span | ({"parentId": parent} if parent else {})


def test_spans_are_drawn_under_their_parents_in_time_order() -> None:
    spans = [
        _span("c", "smtp send", "alumni-notifications", 3_000, 500, parent="b"),
        _span("a", "post /webhooks/hris/{source}", "alumni-offboarding", 1_000, 10_000, **{"http.route": "/webhooks/hris/{source}"}),
        _span("b", "hris.employee.departed process", "alumni-offboarding", 2_000, 4_000, parent="a",
              **{"cloudevents.event_type": "com.alumni.employee.departed.v1"}),
        _span("d", "find alumni", "alumni-identity", 2_500, 200, parent="b", **{"db.collection.name": "alumni"}),
        _span("e", "lost parent", "alumni-identity", 9_000, 100, parent="gone"),
    ]
    assert render_tree(spans) == [
        "      0.0 ms alumni-offboarding: post /webhooks/hris/{source} (10.0 ms)  [/webhooks/hris/{source}]",
        "      1.0 ms   alumni-offboarding: hris.employee.departed process (4.0 ms)  [com.alumni.employee.departed.v1]",
        "      1.5 ms     alumni-identity: find alumni (0.2 ms)  [alumni]",
        "      2.0 ms     alumni-notifications: smtp send (0.5 ms)",
        "      8.0 ms alumni-identity: lost parent (0.1 ms)",
    ]
