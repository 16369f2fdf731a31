"""What the notifications handlers and HTTP API need from outside, built by app.py (or by a test
over in-memory repositories and senders)."""

from collections.abc import Callable
from dataclasses import dataclass

from services.notifications.domain import Planning
from services.notifications.hosted_events import HostedEventMessages
from services.notifications.links import NamedLinks
from services.notifications.repository import Deliveries, ReachableAlumni
from services.notifications.senders import ChatPoster, Mailer
from services.notifications.templating import Templates
from services.notifications.unsubscribe import UnsubscribeLinks
from shared.messaging.parking import WaitingEvents
from shared.messaging.uow import UnitOfWork


@dataclass(frozen=True)
class Dependencies:
    reachable: Callable[[UnitOfWork], ReachableAlumni]  # the projection and RSVPs, within a unit of work
    deliveries: Callable[[UnitOfWork], Deliveries]
    planning: Planning  # the routing table over the configured chat channels
    templates: Templates
    mailer: Mailer  # email (SMTP)
    chat: ChatPoster  # chat webhooks
    unsubscribe: UnsubscribeLinks
    exit_form: NamedLinks
    email_confirmation: NamedLinks
    portal_url: str  # the alumni portal, which messages link to
    hosted_events: HostedEventMessages  # hosted events' one-click answers and calendar files
    waiting: Callable[[UnitOfWork], WaitingEvents]  # the events parked here, for the access export
    bulk_batch_size: int = 50  # consent-gated emails per record of the bulk topic
    bulk_concurrency: int = 4  # consent-gated emails being sent at once (the pool's bulk connections)
    bulk_per_second: float = 0.0  # consent-gated emails sent a second at most, by this process (0: no limit)
    send_budget_seconds: float = 15.0  # what one batch may spend sending: well within the handler's timeout
    # Transactional email is sent in the transaction that plans it while the mail server's sends
    # take at most this long on average; 0: always through its topic.
    send_at_planning_seconds: float = 0.0
