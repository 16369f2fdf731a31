"""A real HTTP server on loopback that answers as the BambooHR and HiBob APIs document:
the offboarding service's vendor adapters call it to read the worker behind a thin webhook."""

import base64
import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

BAMBOO_KEY = "bamboo-api-key"
BOB_USER, BOB_TOKEN = "bob-service-user", "bob-token"


class VendorApis:
    def __init__(self) -> None:
        self.bamboo_workers: dict[str, dict] = {}
        self.bob_workers: dict[str, dict] = {}
        self.requests: list[tuple[str, str, dict | None]] = []
        self.fail_next = 0  # answer 503 to the next N requests
        apis = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self, status: int, body: dict | None = None) -> None:
                data = json.dumps(body or {}).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _basic(self) -> tuple[str, str]:
                scheme, _, value = self.headers.get("Authorization", "").partition(" ")
                if scheme != "Basic":
                    return "", ""
                user, _, password = base64.b64decode(value).decode().partition(":")
                return user, password

            def do_GET(self) -> None:  # noqa: N802
                apis.requests.append(("GET", self.path, None))
                if apis.fail_next:
                    apis.fail_next -= 1
                    return self._answer(503)
                match = re.fullmatch(r"/api/gateway\.php/([^/]+)/v1/employees/([^/?]+)/\?fields=(.*)", self.path)
                if not match:
                    return self._answer(404)
                if self._basic() != (BAMBOO_KEY, "x"):
                    return self._answer(401)
                worker = apis.bamboo_workers.get(match.group(2))
                if worker is None:
                    return self._answer(404)
                fields = match.group(3).replace("%2C", ",").split(",")
                self._answer(200, {"id": match.group(2)} | {f: worker.get(f) for f in fields})

            def do_POST(self) -> None:  # noqa: N802
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
                apis.requests.append(("POST", self.path, body))
                if apis.fail_next:
                    apis.fail_next -= 1
                    return self._answer(503)
                match = re.fullmatch(r"/v1/people/([^/]+)", self.path)
                if not match:
                    return self._answer(404)
                if self._basic() != (BOB_USER, BOB_TOKEN):
                    return self._answer(401)
                worker = apis.bob_workers.get(match.group(1))
                if worker is None:
                    return self._answer(404)
                self._answer(200, worker)

            def log_message(self, *args) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> "VendorApis":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
