"""Failpoints: named places where a test can make a process crash on purpose.

`ALUMNI_FAILPOINTS=outbox.before-publish=kill,consumer.before-commit=kill` makes the process
SIGKILL itself when it reaches those places. Unset (always, in production) they cost a dict
lookup. They let tests prove what happens on a crash at the worst moment.
"""

import os
import signal


def _parse(spec: str) -> dict[str, str]:
    points = {}
    for item in filter(None, (p.strip() for p in spec.split(","))):
        name, _, action = item.partition("=")
        points[name] = action or "kill"
    return points


_ACTIVE = _parse(os.environ.get("ALUMNI_FAILPOINTS", ""))


def failpoint(name: str) -> None:
    if _ACTIVE.get(name) == "kill":
        os.kill(os.getpid(), signal.SIGKILL)
