"""What identity's handlers and HTTP API need from outside, built by app.py (or by a test over
in-memory repositories)."""

import uuid
from collections.abc import Callable
from dataclasses import dataclass

from services.identity.bulk_repository import AlumniInBulk
from services.identity.pages import ConfirmationPages
from services.identity.repository import AlumniRepository, EmailConfirmations, MergeReviews
from services.identity.verification import ConfirmationLinks
from shared.erasure import ErasedPeople, ErasureKeys
from shared.messaging.parking import WaitingEvents
from shared.messaging.uow import UnitOfWork
from shared.web.personal_data import Peers


def new_alumnus_id() -> str:
    return f"alm_{uuid.uuid4().hex}"


def new_review_id() -> str:
    return f"rev_{uuid.uuid4().hex}"


@dataclass(frozen=True)
class Dependencies:
    alumni: Callable[[UnitOfWork], AlumniRepository]  # the repository within a unit of work
    alumni_in_bulk: Callable[[UnitOfWork], AlumniInBulk]  # many at a time: an import's chunks
    # Erased alumni's stints (keyed hashes): a late or replayed completion never registers them again.
    erased: Callable[[UnitOfWork], ErasedPeople]
    erasure_keys: ErasureKeys
    # Events parked until what they wait for is handled (exit-form answers before their completion).
    waiting: Callable[[UnitOfWork], WaitingEvents]
    # Personal emails wait for their owner's confirmation; unsure matches wait for HR.
    confirmations: Callable[[UnitOfWork], EmailConfirmations]
    reviews: Callable[[UnitOfWork], MergeReviews]
    confirmation_links: ConfirmationLinks
    pages: ConfirmationPages
    new_alumnus_id: Callable[[], str] = new_alumnus_id
    new_review_id: Callable[[], str] = new_review_id
    # The other services' personal data, gathered for an export (PERSONAL_DATA_PEERS).
    peers: Peers | None = None
