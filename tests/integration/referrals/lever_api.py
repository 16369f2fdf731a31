"""A real HTTP server on loopback answering as Lever's data API does for an opportunity
(`GET /v1/opportunities/{id}`, HTTP basic with the API key as the user, `{"data": {...}}`)."""

import base64
import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LEVER_KEY = "lever-api-key"


class LeverApi:
    def __init__(self) -> None:
        self.opportunities: dict[str, dict] = {}
        self.requests: list[str] = []
        api = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self, status: int, body: dict | None = None) -> None:
                data = json.dumps(body or {}).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:  # noqa: N802
                api.requests.append(self.path)
                scheme, _, value = self.headers.get("Authorization", "").partition(" ")
                if scheme != "Basic" or base64.b64decode(value).decode() != f"{LEVER_KEY}:":
                    return self._answer(401)
                match = re.fullmatch(r"/v1/opportunities/([A-Za-z0-9-]+)", self.path)
                if not match or match.group(1) not in api.opportunities:
                    return self._answer(404, {"code": "ResourceNotFound"})
                self._answer(200, {"data": {"id": match.group(1)} | api.opportunities[match.group(1)]})

            def log_message(self, *args) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> "LeverApi":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
