"""Failpoints: named places where a test can make a process crash on purpose.

`ALUMNI_FAILPOINTS=outbox.before-publish=kill,consumer.before-commit=kill` makes a service
SIGKILL itself when it reaches those places (the service factory arms them at start-up from
that setting). Unarmed (always, in production) they cost a dict lookup. They let tests prove
what happens on a crash at the worst moment.
"""

import os
import signal

_armed: dict[str, str] = {}


def parse(spec: str) -> dict[str, str]:
    points = {}
    for item in filter(None, (p.strip() for p in spec.split(","))):
        name, _, action = item.partition("=")
        points[name] = action or "kill"
    return points


def arm(spec: str) -> None:
    _armed.clear()
    _armed.update(parse(spec))


def failpoint(name: str) -> None:
    if _armed.get(name) == "kill":
        os.kill(os.getpid(), signal.SIGKILL)
