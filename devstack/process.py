"""Processes the launcher starts, tracked by pid files so `down` stops only what `up` started."""

import json
import os
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from devstack.errors import StackError

# Popen objects of the processes this Python process started, so that exited ones are reaped.
_children: dict[int, subprocess.Popen] = {}


def port_free(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def free_port() -> int:
    """A port nobody listens on now (for test and benchmark servers)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


@dataclass
class ManagedProcess:
    """One long-running process. `marker` is an argument unique to it (a data directory or a
    config file), checked in /proc so a recycled pid is never mistaken for ours."""

    name: str
    argv: list[str]
    marker: str
    run_dir: Path
    log_dir: Path
    env: dict[str, str] | None = None
    cwd: Path | None = None
    nice: int = 0  # a lower CPU priority (coreutils' nice), inherited by every thread it starts
    exit_code: int | None = None  # known when this Python process started it and saw it exit

    @property
    def pidfile(self) -> Path:
        return self.run_dir / f"{self.name}.pid"

    @property
    def log(self) -> Path:
        return self.log_dir / f"{self.name}.log"

    def pid(self) -> int | None:
        """The pid of the running process, or None (a stale pid file is removed)."""
        try:
            pid = json.loads(self.pidfile.read_text())["pid"]
        except (OSError, ValueError, KeyError):
            return None
        child = _children.get(pid)
        if child is not None:
            if child.poll() is None:
                return pid  # our own child, alive (its cmdline can be empty just after the fork)
            self.exit_code = child.returncode
            del _children[pid]
        elif self.marker in _cmdline(pid):
            return pid
        self.pidfile.unlink(missing_ok=True)
        return None

    def start(self) -> int:
        if (pid := self.pid()) is not None:
            return pid
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self.log_dir.mkdir(parents=True, exist_ok=True)
        with self.log.open("ab") as out:
            out.write(f"\n--- {self.name} starting at {datetime.now(UTC).isoformat()}\n".encode())
            out.flush()
            try:
                proc = subprocess.Popen(
                    ["nice", "-n", str(self.nice), *self.argv] if self.nice else self.argv,
                    stdin=subprocess.DEVNULL,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    env=self.env,
                    cwd=self.cwd,
                    start_new_session=True,  # outlives `./alumni up`; Ctrl-C there does not reach it
                )
            except OSError as exc:
                raise StackError(f"cannot start {self.name} ({self.argv[0]}): {exc}") from exc
        _children[proc.pid] = proc
        self.exit_code = None
        self.pidfile.write_text(json.dumps({"pid": proc.pid, "argv": self.argv}))
        return proc.pid

    def exited(self) -> bool:
        return self.pid() is None

    def stop(self, timeout: float = 30.0, sig: int = signal.SIGTERM) -> bool:
        """Stop the process; True if it was running. SIGKILL after `timeout` seconds."""
        pid = self.pid()
        if pid is None:
            return False
        os.kill(pid, sig)
        deadline = time.monotonic() + timeout
        while self.pid() is not None:
            if time.monotonic() > deadline:
                os.kill(pid, signal.SIGKILL)
                deadline = time.monotonic() + 10
            time.sleep(0.1)
        self.pidfile.unlink(missing_ok=True)
        return True

    def kill(self) -> bool:
        """SIGKILL at once: a crash, as tests simulate it."""
        return self.stop(timeout=0, sig=signal.SIGKILL)

    def log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"
