"""`./alumni trace <employee id, alumnus id or event id>`: the traces that touched it, found in
the local trace store (Zipkin's API), each printed as its URL in the UI and its spans as a tree.

A trace is found by the attributes the consumers set on their spans: the event's id
(`cloudevents.event_id`), its subject and the record's key (the aggregate: an employee id for a
departure, an alumnus id after registration)."""

from datetime import UTC, datetime

import httpx

SEARCHED_TAGS = ("cloudevents.event_id", "cloudevents.event_subject", "messaging.kafka.message.key")
LOOKBACK_MS = 7 * 86_400_000
MAX_TRACES = 5


def find_traces(zipkin: str, identifier: str, *, http: httpx.Client) -> list[list[dict]]:
    """The traces (lists of Zipkin v2 spans) that name `identifier`, the most recent first."""
    found: dict[str, list[dict]] = {}
    end = int(datetime.now(UTC).timestamp() * 1000)
    for tag in SEARCHED_TAGS:
        answer = http.get(
            f"{zipkin}/api/v2/traces",
            params={"annotationQuery": f"{tag}={identifier}", "endTs": end, "lookback": LOOKBACK_MS, "limit": MAX_TRACES},
        )
        answer.raise_for_status()
        for spans in answer.json():
            if spans:
                found.setdefault(spans[0]["traceId"], [])
    traces = []
    for trace_id in found:
        answer = http.get(f"{zipkin}/api/v2/trace/{trace_id}")
        answer.raise_for_status()
        traces.append(answer.json())
    return sorted(traces, key=lambda spans: -min(s.get("timestamp", 0) for s in spans))[:MAX_TRACES]


def render_tree(spans: list[dict]) -> list[str]:
    """One line per span, children under their parent in time order: service, name, duration."""
    by_id = {s["id"]: s for s in spans}
    children: dict[str | None, list[dict]] = {}
    for span in spans:
        parent = span.get("parentId")
        children.setdefault(parent if parent in by_id else None, []).append(span)
    start = min((s.get("timestamp", 0) for s in spans), default=0)
    lines: list[str] = []

    def walk(span: dict, depth: int) -> None:
        service = span.get("localEndpoint", {}).get("serviceName", "?")
        offset = (span.get("timestamp", start) - start) / 1000
        duration = span.get("duration", 0) / 1000
        detail = _detail(span.get("tags", {}))
        lines.append(f"{offset:9.1f} ms {'  ' * depth}{service}: {span.get('name', '?')} ({duration:.1f} ms){detail}")
        for child in sorted(children.get(span["id"], []), key=lambda s: s.get("timestamp", 0)):
            walk(child, depth + 1)

    for root in sorted(children.get(None, []), key=lambda s: s.get("timestamp", 0)):
        walk(root, 0)
    return lines


def _detail(tags: dict[str, str]) -> str:
    for name in ("cloudevents.event_type", "messaging.destination.name", "db.collection.name", "http.route"):
        if name in tags:
            return f"  [{tags[name]}]"
    return ""


def main(zipkin: str, identifier: str) -> int:
    with httpx.Client(timeout=10) as http:
        try:
            traces = find_traces(zipkin, identifier, http=http)
        except httpx.HTTPError as exc:
            print(f"alumni trace: the trace store at {zipkin} does not answer ({type(exc).__name__}): is the system up (./alumni up)?")
            return 1
    if not traces:
        print(f"no trace names {identifier} in the last 7 days (spans reach the store a second or two after they end)")
        return 1
    for spans in traces:
        services = sorted({s.get("localEndpoint", {}).get("serviceName", "?") for s in spans})
        print(f"{zipkin}/zipkin/traces/{spans[0]['traceId']}  ({len(spans)} spans: {', '.join(services)})")
        print("\n".join(render_tree(spans)))
        print()
    return 0
