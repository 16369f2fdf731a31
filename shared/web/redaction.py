"""Paths that carry a secret (a one-time token) are recorded in spans without it."""

from collections.abc import Callable, Sequence
from typing import Any

URL_ATTRIBUTES = ("http.target", "http.url", "url.path", "url.full", "url.query")


def redact_paths(prefixes: Sequence[str]) -> Callable[[Any, dict], None]:
    """A span hook that replaces whatever follows a secret path prefix with `{redacted}`."""

    def redact(span: Any, scope: dict) -> None:
        path = scope.get("path", "")
        for prefix in prefixes:
            if path.startswith(prefix) and span.is_recording():
                safe = prefix + "{redacted}"
                for attribute in URL_ATTRIBUTES:
                    span.set_attribute(attribute, safe)

    return redact
