"""The alumni's answers, over a unit of work and the dependencies (the API runs them in a
transaction): an answer takes a seat with a conditional update of the event (never a read then
a write), so concurrent yeses never take more seats than the room has; beyond capacity, a
ticket from the event's counter orders the waitlist by arrival. A seat given up goes to the first
waitlisted, who is told. Erasure deletes an alumnus's answers and check-ins (and frees their seats)."""

from dataclasses import dataclass, replace

from services.engagement.dependencies import Dependencies
from services.engagement.domain import (
    GOING, PUBLISHED, WAITLISTED, Answer, HostedEvent, NotInAudience, UnknownHostedEvent, answer_status, frees_a_seat,
)
from shared.events.engagement import RsvpConfirmed, RsvpRecorded, WaitlistPromoted
from shared.messaging.uow import UnitOfWork


@dataclass(frozen=True)
class Outcome:
    answer: Answer
    waitlist_position: int | None
    title: str

    def view(self) -> dict:
        return {"status": self.answer.status} | ({"waitlist_position": self.waitlist_position} if self.waitlist_position else {})


async def open_event(uow: UnitOfWork, deps: Dependencies, event_id: str, alumnus_id: str) -> HostedEvent:
    """The event, if it takes answers and the alumnus is in its audience."""
    hosted = await deps.hosted_events(uow).get(event_id)
    if hosted is None:
        raise UnknownHostedEvent(f"no event {event_id}")
    hosted.check_open(uow.now())
    if not hosted.audience.includes(await deps.alumni(uow).get(alumnus_id)):
        raise NotInAudience(f"event {event_id} is not open to this alumnus")
    return hosted


async def answer(uow: UnitOfWork, deps: Dependencies, event_id: str, alumnus_id: str, response: str) -> Outcome:
    hosted = await open_event(uow, deps, event_id, alumnus_id)
    answers, events = deps.answers(uow), deps.hosted_events(uow)
    previous = await answers.get(event_id, alumnus_id)
    status = answer_status(previous, response)
    if previous is not None and previous.response == response and previous.status == status:
        return await _outcome(deps, uow, hosted, previous)  # the same answer again (a second click): nothing new
    ticket = None
    if status is None:
        if await events.take_seat(event_id, hosted.capacity):
            status = GOING
        else:
            status, ticket = WAITLISTED, await events.next_ticket(event_id)
    elif status == WAITLISTED and previous is not None:
        ticket = previous.ticket
    now = uow.now()
    kept = previous is not None and status == previous.status  # the same place: its time of arrival stays
    recorded = Answer(event_id, alumnus_id, response, status, previous.answered_at if kept else now, ticket)
    await answers.save(recorded)
    if frees_a_seat(previous, status):
        await give_up_seat(uow, deps, hosted)
    outcome = await _outcome(deps, uow, hosted, recorded)
    uow.publish(RsvpRecorded(event_id=event_id, alumnus_id=alumnus_id, response=response, recorded_at=now), subject=event_id)
    uow.publish(
        RsvpConfirmed(event_id=event_id, alumnus_id=alumnus_id, status=status, waitlist_position=outcome.waitlist_position,
                      hosted_event=hosted.details(), confirmed_at=now),
        subject=event_id,
    )
    return outcome


async def _outcome(deps: Dependencies, uow: UnitOfWork, hosted: HostedEvent, recorded: Answer) -> Outcome:
    position = None
    if recorded.status == WAITLISTED and recorded.ticket is not None:
        position = await deps.answers(uow).waitlist_position(hosted.event_id, recorded.ticket)
    return Outcome(recorded, position, hosted.title)


async def give_up_seat(uow: UnitOfWork, deps: Dependencies, hosted: HostedEvent) -> None:
    """A seat freed: the first waitlisted takes it and is told; with nobody waiting, it is free."""
    answers = deps.answers(uow)
    first = await answers.first_waitlisted(hosted.event_id) if hosted.status == PUBLISHED and not hosted.started(uow.now()) else None
    if first is None:
        await deps.hosted_events(uow).free_seat(hosted.event_id)
        return
    await answers.save(replace(first, status=GOING, ticket=None))
    uow.publish(
        WaitlistPromoted(event_id=hosted.event_id, alumnus_id=first.alumnus_id, hosted_event=hosted.details(), promoted_at=uow.now()),
        subject=hosted.event_id,
    )


async def forget_alumnus(uow: UnitOfWork, deps: Dependencies, alumnus_id: str) -> None:
    """Erasure: their answers and check-ins are deleted; a seat they held goes to the waitlist."""
    answers = deps.answers(uow)
    held = [a for a in await answers.of_alumnus(alumnus_id) if a.status == GOING]
    await answers.forget_alumnus(alumnus_id)
    await deps.check_ins(uow).forget_alumnus(alumnus_id)
    for seat in held:
        hosted = await deps.hosted_events(uow).get(seat.event_id)
        if hosted is not None:
            await give_up_seat(uow, deps, hosted)
