"""A hosted event for a few hundred alumni on the real stack: notifications SIGKILLed in the middle
of the fan-out and started again, each alumnus still gets one invitation (one Message-ID, one
delivery sent), over a few reused SMTP connections; a welcome email is not held behind the
fan-out; replayed, forged and oversized batch records change nothing."""

import json
import uuid

import pytest
from pymongo import AsyncMongoClient

from shared.events import Envelope
from shared.events.notifications import MAX_EMAILS_PER_BATCH, BulkEmailsRequested
from shared.topics import dead_letter_topic
from tests.integration.fanout.conftest import BATCH_SIZE, FanOut
from tests.integration.kafka_io import produce, wait_for

pytestmark = pytest.mark.integration
BULK = BulkEmailsRequested.event_type


async def test_a_fan_out_killed_midway_resumes_and_each_alumnus_gets_one_invitation(fanout: FanOut) -> None:
    alumni = await fanout.many_alumni(300, country="BE", locale="en")
    await fanout.known_everywhere(alumni)
    title = f"Rencontre {uuid.uuid4().hex[:8]}"
    fanout.mailbox.slow_for = (title.encode(), 0.03)  # a server slow enough that the kill lands mid-fan-out
    connections, received = fanout.mailbox.connections, len(fanout.mailbox.messages)

    await fanout.hosted_event(title=title, audience={"countries": ["BE"]}, locale="en")
    await fanout.until_invited(title, 60)
    notifications = fanout.stack.services["notifications"]
    notifications.process.kill()
    killed_at = len(fanout.invitations(title))
    notifications.start()
    await notifications.wait_ready(timeout=120)
    await fanout.until_invited(title, len(alumni))
    await fanout.mail_to(alumni[-1].address, subject=title, settle=3.0)  # whatever was still on its way

    invited = fanout.invitations(title)
    assert killed_at < len(alumni) and sorted(invited) == sorted(a.address for a in alumni)
    # One invitation each: a message the server accepted just before the kill may come again,
    # but as the same message (its Message-ID), and at most the batches that were in flight.
    assert all(len({m["Message-ID"] for m in messages}) == 1 for messages in invited.values())
    assert sum(len(m) for m in invited.values()) - len(alumni) <= 3 * BATCH_SIZE
    assert all(m["List-Unsubscribe"] for messages in invited.values() for m in messages)
    client = AsyncMongoClient(fanout.stack.cfg.mongodb_uri)
    try:
        ids = [a.alumnus_id for a in alumni]
        deliveries = await client["alumni_notifications"]["deliveries"].find(
            {"template": "event_invitation", "recipient_id": {"$in": ids}}, {"recipient_id": 1, "status": 1}
        ).to_list()
    finally:
        await client.close()
    assert sorted(d["recipient_id"] for d in deliveries) == sorted(ids) and {d["status"] for d in deliveries} == {"sent"}
    # The connections were reused: hundreds of messages over a handful of them (the kill dropped some).
    messages = len(fanout.mailbox.messages) - received
    assert fanout.mailbox.connections - connections <= messages / 10


async def test_a_welcome_email_is_not_held_behind_a_fan_out(fanout: FanOut) -> None:
    alumni = await fanout.many_alumni(200, country="LU", locale="en")
    await fanout.known_everywhere(alumni)
    title = f"Soirée {uuid.uuid4().hex[:8]}"
    fanout.mailbox.slow_for = (title.encode(), 0.05)  # 200 invitations over two connections: seconds

    await fanout.hosted_event(title=title, audience={"countries": ["LU"]}, locale="en")
    await fanout.until_invited(title, 20)
    [newcomer] = await fanout.many_alumni(1, country="DE", events=False, locale="en")
    [welcome] = await fanout.mail_to(newcomer.address, subject="Welcome", settle=0)
    invited_by_then = len(fanout.invitations(title))

    assert welcome["Message-ID"] and invited_by_then < len(alumni)
    await fanout.until_invited(title, len(alumni))
    assert newcomer.address not in fanout.invitations(title)


async def test_replayed_forged_and_oversized_batches_change_nothing(fanout: FanOut) -> None:
    alumni = await fanout.many_alumni(12, country="NL", locale="en")
    await fanout.known_everywhere(alumni)
    title = f"Borrel {uuid.uuid4().hex[:8]}"
    fanout.mailbox.slow_for = None
    await fanout.hosted_event(title=title, audience={"countries": ["NL"]}, locale="en")
    await fanout.until_invited(title, len(alumni))

    def ours(record) -> bool:
        return record.headers.get("ce_type") == BULK.type and title in record.value.decode()

    batches = await wait_for(fanout.bootstrap, BULK.topic, ours, count=2, settle=1.0)
    real = batches[0]
    forged = BulkEmailsRequested.model_validate(real.json() | {"batch_id": "forged"})
    forged = forged.model_copy(update={"requests": [
        r.model_copy(update={"delivery_id": uuid.uuid4().hex, "address": "forged@elsewhere.example"}) for r in forged.requests
    ]})
    oversized = real.json() | {"batch_id": "oversized", "requests": real.json()["requests"] * (MAX_EMAILS_PER_BATCH // len(real.json()["requests"]) + 1)}

    def headers(ce_id: str | None = None) -> list[tuple[str, bytes]]:
        envelope = Envelope(type=BULK.type, source="/alumni/notifications", **({"id": ce_id} if ce_id else {}))
        return [(k, v.encode()) for k, v in envelope.headers().items()]

    await produce(fanout.bootstrap, BULK.topic, [
        (real.key, real.value, [(k, v.encode()) for k, v in real.headers.items()]),  # replayed as it was
        (real.key, real.value, headers()),  # again, under another event id
        (b"forged", forged.model_dump_json().encode(), headers()),  # deliveries nobody planned
        (b"oversized", json.dumps(oversized).encode(), headers()),
    ])

    [letter] = await wait_for(fanout.bootstrap, dead_letter_topic(BULK.topic), lambda r: r.key == b"oversized", timeout=60)
    assert "requests" in letter.headers["dlq_error_message"]
    await fanout.mail_to("forged@elsewhere.example", timeout=5)
    assert fanout.mailbox.to("forged@elsewhere.example") == []
    invited = fanout.invitations(title)
    assert sorted(invited) == sorted(a.address for a in alumni) and all(len(m) == 1 for m in invited.values())
