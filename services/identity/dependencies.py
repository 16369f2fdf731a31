"""What identity's handlers and HTTP API need from outside, built by app.py (or by a test over
in-memory repositories)."""

import uuid
from collections.abc import Callable
from dataclasses import dataclass

from services.identity.repository import AlumniRepository
from shared.messaging.uow import UnitOfWork


def new_alumnus_id() -> str:
    return f"alm_{uuid.uuid4().hex}"


@dataclass(frozen=True)
class Dependencies:
    alumni: Callable[[UnitOfWork], AlumniRepository]  # the repository within a unit of work
    new_alumnus_id: Callable[[], str] = new_alumnus_id
