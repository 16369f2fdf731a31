"""Mailings and reminders, in the background: each mailing (invitations on publishing, reminders
EVENT_REMINDER_HOURS before the start, updates after a change of time or place) is told in
chunks of EVENT_NOTICE_CHUNK_SIZE alumni, one transaction and one event per chunk; a chunk is
recorded with a conditional update of the mailing's progress, so two instances never tell the
same chunk twice and a crash resumes where the last commit left off. Mailings take turns, a chunk
each, at most EVENT_NOTICES_PER_SECOND alumni a second in all: a fan-out is planned as fast as it
can be sent, not at once, so that its planning does not hold back the writes of everything else.
"Now" is the service's clock (CLOCK_FILE in tests)."""

import asyncio
import logging
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Awaitable, Callable

from services.engagement.dependencies import Dependencies
from services.engagement.domain import CANCELLED, INVITATIONS, REMINDERS, Mailing
from services.engagement.id_ranges import range_end
from shared.events.engagement import EventInvitationsIssued, EventReminderDue, EventUpdated
from shared.messaging.uow import Transactions, UnitOfWork
from shared.service import ServiceRuntime

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Told:
    alumni: int  # named by the chunk just told
    more: bool  # whether more may follow


async def tell_next_chunk(uow: UnitOfWork, deps: Dependencies, mailing_id: str) -> Told:
    """Tell the next chunk of a mailing."""
    mailings = deps.mailings(uow)
    mailing = await mailings.get(mailing_id)
    if mailing is None or mailing.done:
        return Told(0, False)
    hosted = await deps.hosted_events(uow).get(mailing.event_id)
    if hosted is None or hosted.status == CANCELLED or hosted.started(uow.now()):
        mailing.done = True
        await mailings.advance(mailing, mailing.chunk)
        return Told(0, False)
    end = range_end(mailing.after, mailing.span) if mailing.kind == INVITATIONS else None
    if mailing.kind == INVITATIONS:
        told = await deps.alumni(uow).invitable_in(hosted.audience, mailing.after, end, deps.chunk_size)
    else:
        told = await deps.answers(uow).going_after(hosted.event_id, mailing.after, deps.chunk_size)
    chunk = mailing.chunk
    mailing.advance(told, deps.chunk_size, end)
    if not await mailings.advance(mailing, chunk):
        return Told(0, False)  # another instance told this chunk
    if told:
        facts = {"event_id": hosted.event_id, "hosted_event": hosted.details(), "alumnus_ids": told}
        if mailing.kind == INVITATIONS:
            notice = EventInvitationsIssued(**facts, chunk=chunk)
        elif mailing.kind == REMINDERS:
            notice = EventReminderDue(**facts)
        else:
            notice = EventUpdated(**facts, changed=list(mailing.changed))
        uow.publish(notice, subject=hosted.event_id)
    return Told(len(told), not mailing.done)


async def run_mailings(
    transactions: Transactions, deps: Dependencies, *,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep, clock: Callable[[], float] = time.monotonic,
) -> int:
    """Every pending mailing to its end, a chunk of each in turn (a small one is not held back
    behind a big one, and one that starts meanwhile joins at the next turn), at most
    `deps.notices_per_second` alumni a second, without a burst to catch up after a slow chunk;
    how many chunks were told."""

    async def pending(uow: UnitOfWork) -> list[str]:
        return await deps.mailings(uow).pending()

    chunks, next_at = 0, clock()
    while waiting := await transactions.run(pending):
        for mailing_id in waiting:
            if deps.notices_per_second:
                await sleep(max(0.0, next_at - clock()))
            began = clock()
            result = await transactions.run(lambda uow, m=mailing_id: tell_next_chunk(uow, deps, m))
            chunks += result.alumni > 0
            if deps.notices_per_second:
                next_at = max(next_at, began) + result.alumni / deps.notices_per_second
    return chunks


async def schedule_reminders(transactions: Transactions, deps: Dependencies, now: datetime) -> int:
    """Start the reminders of the events starting within EVENT_REMINDER_HOURS; how many."""

    async def due(uow: UnitOfWork) -> list[str]:
        return await deps.hosted_events(uow).to_remind(now, now + timedelta(hours=deps.reminder_hours))

    started = 0
    for event_id in await transactions.run(due):

        async def remind(uow: UnitOfWork, event_id: str = event_id) -> bool:
            events = deps.hosted_events(uow)
            hosted = await events.get(event_id)
            # Read again in the transaction: another instance may have started them.
            if hosted is None or not hosted.reminder_due(uow.now(), deps.reminder_hours):
                return False
            hosted.reminded = True
            await events.save(hosted)
            await deps.mailings(uow).add(Mailing.of(hosted, REMINDERS))
            return True

        started += await transactions.run(remind)
    return started


async def scheduled_round(runtime: ServiceRuntime, deps: Dependencies) -> None:
    """One round of the scheduler: reminders that came due, then every mailing left."""
    await schedule_reminders(runtime.transactions, deps, runtime.clock())
    if told := await run_mailings(runtime.transactions, deps):
        log.info("mailing chunks told", extra={"chunks": told})
