"""Local stand-ins for a mail server and chat workspaces, for `./alumni up` on one machine (the
role Mailpit plays in docker-compose): a real SMTP server that keeps every message as an .eml
file, and a real HTTP server that appends every chat webhook post to a JSON-lines file.

    python -m devstack.sinks --dir .stack/sinks --smtp-port 1025 --http-port 8025
"""

import argparse
import asyncio
import json
import signal
import threading
import time
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from aiosmtpd.controller import Controller


class MailDir:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: N802
        name = f"{datetime.now(UTC):%Y%m%dT%H%M%S}-{time.time_ns() % 10**9:09d}.eml"
        (self.directory / name).write_bytes(envelope.original_content or envelope.content)
        return "250 Message accepted for delivery"


def chat_server(port: int, posts: Path) -> ThreadingHTTPServer:
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            with lock, posts.open("a") as out:
                out.write(json.dumps({"at": datetime.now(UTC).isoformat(), "channel": self.path, "body": json.loads(body or b"{}")}, ensure_ascii=False) + "\n")
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args) -> None:
            pass

    return ThreadingHTTPServer(("127.0.0.1", port), Handler)


def main() -> None:
    parser = argparse.ArgumentParser(prog="sinks")
    parser.add_argument("--dir", type=Path, required=True)
    parser.add_argument("--smtp-port", type=int, default=1025)
    parser.add_argument("--http-port", type=int, default=8025)
    args = parser.parse_args()
    args.dir.mkdir(parents=True, exist_ok=True)
    mail = Controller(MailDir(args.dir / "mail"), hostname="127.0.0.1", port=args.smtp_port)
    mail.start()
    chat = chat_server(args.http_port, args.dir / "chat.jsonl")
    threading.Thread(target=chat.serve_forever, daemon=True).start()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    print(f"sinks: SMTP on 127.0.0.1:{args.smtp_port} -> {args.dir / 'mail'}, chat on 127.0.0.1:{args.http_port} -> {args.dir / 'chat.jsonl'}", flush=True)
    stop.wait()
    chat.shutdown()
    mail.stop()


if __name__ == "__main__":
    asyncio.set_event_loop(asyncio.new_event_loop())
    main()
