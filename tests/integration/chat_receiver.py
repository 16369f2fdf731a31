"""A real HTTP server on loopback that receives chat webhooks (any path) and answers what the
test asks: 429 with Retry-After, 500, or 200."""

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class ChatReceiver:
    def __init__(self) -> None:
        self.posts: list[tuple[float, str, dict]] = []  # (time, path, body) of accepted posts
        self.attempts: list[tuple[float, str, int]] = []  # (time, path, status) of every post
        self.script: dict[str, list[tuple[int, dict[str, str]]]] = {}  # path -> answers to give first
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
                with receiver._lock:
                    planned = receiver.script.get(self.path) or []
                    status, headers = planned.pop(0) if planned else (200, {})
                    receiver.attempts.append((time.monotonic(), self.path, status))
                    if status < 300:
                        receiver.posts.append((time.monotonic(), self.path, body))
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}{path}"

    def start(self) -> "ChatReceiver":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()

    def answer_next(self, path: str, *answers: tuple[int, dict[str, str]]) -> None:
        with self._lock:
            self.script.setdefault(path, []).extend(answers)

    def received(self, path: str, needle: str) -> list[dict]:
        with self._lock:
            return [body for _, p, body in self.posts if p == path and needle in json.dumps(body, ensure_ascii=False)]
