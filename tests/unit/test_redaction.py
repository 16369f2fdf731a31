"""Paths that carry a secret are recorded in spans without it."""

from shared.web.redaction import redact_paths


class Span:
    def __init__(self) -> None:
        self.attributes = {"url.path": "/unsubscribe/SECRET-TOKEN", "http.target": "/unsubscribe/SECRET-TOKEN"}

    def is_recording(self) -> bool:
        return True

    def set_attribute(self, name: str, value: str) -> None:
        self.attributes[name] = value


def test_a_token_in_a_secret_path_never_reaches_a_span() -> None:
    redact = redact_paths(("/exit-form/", "/unsubscribe/", "/rsvp/"))
    for path in ("/unsubscribe/SECRET-TOKEN", "/exit-form/SECRET-TOKEN", "/rsvp/SECRET-TOKEN"):
        span = Span()
        redact(span, {"path": path})
        assert not [v for v in span.attributes.values() if "SECRET-TOKEN" in v]
        assert span.attributes["url.path"].endswith("/{redacted}")


def test_other_paths_are_left_as_they_are() -> None:
    span = Span()
    span.attributes = {"url.path": "/directory"}
    redact_paths(("/unsubscribe/",))(span, {"path": "/directory"})
    assert span.attributes == {"url.path": "/directory"}
