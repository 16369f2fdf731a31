"""What offboarding's handlers, HTTP API and scheduler need from outside, built by app.py (or by
a test over in-memory repositories)."""

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta

import httpx

from services.offboarding.domain import EligibilityPolicy, ExitFormLinks
from services.offboarding.imports.repository import ImportBatchRepository
from services.offboarding.intake.sources import HrisSource
from services.offboarding.pages import ExitFormPages
from services.offboarding.repository import ExitCaseRepository, InvitationRepository, WebhookRequestRepository
from shared.erasure import ErasedPeople, ErasureKeys
from shared.messaging.parking import WaitingEvents
from shared.messaging.uow import UnitOfWork


@dataclass(frozen=True)
class Dependencies:
    # The repositories within a unit of work.
    cases: Callable[[UnitOfWork], ExitCaseRepository]
    invitations: Callable[[UnitOfWork], InvitationRepository]
    webhook_requests: Callable[[UnitOfWork], WebhookRequestRepository]
    # Erased employees (keyed hashes of their ids): their departures are refused until re-admitted.
    erased: Callable[[UnitOfWork], ErasedPeople]
    erasure_keys: ErasureKeys
    # Events parked until what they wait for is handled (a cancellation before its departure).
    waiting: Callable[[UnitOfWork], WaitingEvents]
    # The batches of imports of historic leavers done.
    import_batches: Callable[[UnitOfWork], ImportBatchRepository]
    # Who may join the alumni network, and the links to the exit form.
    policy: EligibilityPolicy
    exit_form: ExitFormLinks
    pages: ExitFormPages
    # HRIS webhooks: the configured sources, the client of their vendors' APIs, and how far a
    # request's signing time may be from now.
    vendor_api: httpx.AsyncClient
    hris_sources: Mapping[str, HrisSource] = field(default_factory=dict)
    webhook_tolerance_seconds: int = 300
    # How long a closed case (completed, excluded, cancelled) is kept before it is forgotten.
    case_retention: timedelta = timedelta(days=90)
