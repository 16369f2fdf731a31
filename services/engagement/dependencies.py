"""What the engagement service's handlers, HTTP API and scheduler need from outside, built by
app.py (or by a test over in-memory repositories)."""

import uuid
from collections.abc import Callable
from dataclasses import dataclass

from services.engagement.pages import RsvpPages
from services.engagement.known_alumni import KnownAlumni
from services.engagement.repository import Answers, CheckIns, HostedEvents, Mailings
from shared.links import RsvpLinks
from shared.messaging.uow import UnitOfWork


def new_event_id() -> str:
    return f"evt_{uuid.uuid4().hex}"


def _nothing() -> None:
    return None


@dataclass(frozen=True)
class Dependencies:
    # The repositories within a unit of work.
    hosted_events: Callable[[UnitOfWork], HostedEvents]
    answers: Callable[[UnitOfWork], Answers]
    check_ins: Callable[[UnitOfWork], CheckIns]
    alumni: Callable[[UnitOfWork], KnownAlumni]
    mailings: Callable[[UnitOfWork], Mailings]
    # One-click answers: the links notifications writes in invitations, and the pages they open.
    rsvp_links: RsvpLinks
    pages: RsvpPages
    # Alumni named by one notice (invitations, reminders, updates), and when reminders go.
    chunk_size: int = 100
    notices_per_second: float = 0.0  # alumni told per second by the scheduler, 0: no limit
    reminder_hours: float = 24.0
    # Tells the scheduler a mailing waits (it would find it on its next round anyway).
    wake_scheduler: Callable[[], None] = _nothing
    new_event_id: Callable[[], str] = new_event_id
