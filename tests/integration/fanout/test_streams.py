"""Notifications as its two workloads on the real stack, as `./alumni up` runs it
(ALUMNI_BULK_APART): the transactional process sends a welcome email while the bulk one is down,
and no invitation goes out until the bulk one starts; then each alumnus gets one. The bulk
process runs at a lower CPU priority."""

import asyncio
import uuid
from dataclasses import replace
from pathlib import Path

import pytest

from devstack.stack import LocalStack
from tests.integration.fanout.conftest import FanOut

pytestmark = pytest.mark.integration


def nice_of(pid: int) -> int:
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[16])


async def test_the_bulk_stream_runs_apart_and_a_welcome_email_needs_only_the_transactional_one(fanout: FanOut) -> None:
    alone = fanout.stack.services["notifications"]
    env = {k: v for k, v in (alone.process.env or {}).items() if k != "HTTP_PORT"}
    apart = LocalStack(replace(fanout.stack.cfg, bulk_apart=True), service_env=env)
    transactional, bulk = apart.services["notifications"], apart.services["notifications-bulk"]
    alone.stop()
    try:
        await apart.up_services(["notifications"], log=lambda line: None)
        alumni = await fanout.many_alumni(15, country="AT", locale="en")
        await fanout.known_everywhere(alumni)
        title = f"Heuriger {uuid.uuid4().hex[:8]}"
        await fanout.hosted_event(title=title, audience={"countries": ["AT"]}, locale="en")
        [newcomer] = await fanout.many_alumni(1, country="DE", events=False, locale="en")
        [welcome] = await fanout.mail_to(newcomer.address, subject="Welcome", settle=0)
        await asyncio.sleep(5)  # engagement's chunks are published by now; nobody reads them
        assert welcome["Message-ID"] and fanout.invitations(title) == {}

        await apart.up_services(["notifications-bulk"], log=lambda line: None)
        assert nice_of(bulk.process.pid()) == min(19, nice_of(transactional.process.pid()) + 10)
        await fanout.until_invited(title, len(alumni))
        await fanout.mail_to(alumni[-1].address, subject=title, settle=2.0)
        invited = fanout.invitations(title)
        assert sorted(invited) == sorted(a.address for a in alumni)
        assert all(len(messages) == 1 for messages in invited.values())
    finally:
        bulk.stop()
        transactional.stop()
        alone.start()
        await alone.wait_ready(timeout=120)
