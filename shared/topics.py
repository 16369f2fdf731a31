"""The topic catalog: every topic the platform uses, with its partition count, in one place,
and the names derived from a topic's: its dead-letter twin and the consumer group reading it.

Each topic has a dead-letter twin `<name>.dlq`. Dead-letter topics have a single partition:
they are read rarely, in order, and replayed by an operator.
"""

from dataclasses import dataclass

DEAD_LETTER_SUFFIX = ".dlq"
DEAD_LETTER_PARTITIONS = 1


def dead_letter_topic(topic: str) -> str:
    """The dead-letter twin of `topic` (a dead-letter topic is its own twin)."""
    return topic if topic.endswith(DEAD_LETTER_SUFFIX) else topic + DEAD_LETTER_SUFFIX


def consumer_group(service: str, topic: str) -> str:
    """One consumer group per service and topic: a rebalance on one topic (a replica joining, a
    consumer restarting) never pauses the service's other topics."""
    return f"{service}.{topic}"


@dataclass(frozen=True)
class Topic:
    name: str
    partitions: int
    description: str

    @property
    def dead_letter(self) -> str:
        return dead_letter_topic(self.name)


CATALOG: tuple[Topic, ...] = (
    Topic("hris.employee.departed", 6, "An HRIS announces a departure (inbound contract)."),
    Topic("hris.employee.departure-cancelled", 6, "An HRIS cancels a departure (inbound contract)."),
    Topic("alumni.offboarding.completed", 6, "An exit case ended: eligible with exit data, or excluded."),
    Topic("alumni.offboarding.exit-form-issued", 6, "A leaver was given a one-time link to the exit form."),
    Topic("alumni.offboarding.exit-form-submitted", 6, "A leaver answered the exit form after their case completed."),
    Topic("alumni.offboarding.cancelled", 6, "A departure was cancelled, before or after its case completed."),
    Topic("alumni.offboarding.leavers-imported", 3, "Historic leavers an operator imported, in chunks: the eligible ones, for identity."),
    Topic("alumni.alumnus.registered", 6, "A new alumnus, or a boomerang's new stint."),
    Topic("alumni.alumnus.updated", 6, "An alumnus's profile changed."),
    Topic("alumni.alumnus.consent-changed", 6, "An alumnus granted or withdrew consent for a purpose."),
    Topic("alumni.alumnus.erased", 6, "An alumnus was erased (GDPR): projections delete their copy."),
    Topic("alumni.alumnus.email-confirmation-requested", 6, "A personal email entered a record unconfirmed: a link to confirm it is sent."),
    Topic("alumni.alumnus.email-confirmed", 6, "An alumnus's personal email was confirmed by its owner."),
    Topic("alumni.alumnus.imported", 3, "Alumni registered by an import, in chunks: projections apply them; no message is sent."),
    Topic("alumni.alumnus.merge-review-opened", 3, "A leaver's email matched a record not trusted for merging: HR decides."),
    Topic("ats.application.status-changed", 3, "The ATS moved an application (inbound from the ATS)."),
    Topic("alumni.referral.submitted", 3, "An alumnus referred a candidate or a client."),
    Topic("alumni.referral.status-changed", 3, "A referral moved on."),
    Topic("alumni.referral.bonus-earned", 3, "A referral earned its referrer a bonus."),
    Topic("alumni.event.hosted", 3, "The company hosts an alumni event."),
    Topic("alumni.event.rsvp-recorded", 3, "An alumnus answered an event invitation."),
    Topic("alumni.event.cancelled", 3, "A hosted event was cancelled."),
    Topic("alumni.event.invitations-issued", 3, "Alumni invited to a published event, in chunks."),
    Topic("alumni.event.rsvp-confirmed", 3, "What an answer made of an alumnus: going, waitlisted, maybe, declined."),
    Topic("alumni.event.waitlist-promoted", 3, "A waitlisted alumnus is now going."),
    Topic("alumni.event.updated", 3, "A published event's time or place changed; those going are told."),
    Topic("alumni.event.reminder-due", 3, "An event starts soon; those going are reminded."),
    Topic("alumni.event.attendance-recorded", 3, "Alumni checked in at an event."),
    Topic("alumni.notification.email", 6, "Internal: transactional emails to send, one record per delivery."),
    Topic("alumni.notification.email-bulk", 6, "Internal: consent-gated emails to send (invitations, news), in batches; one alone after a failed send."),
    Topic("alumni.notification.chat", 3, "Internal: chat posts to send, one per delivery."),
    Topic("alumni.notification.unsubscribe-requested", 3, "An alumnus unsubscribed from a purpose by a link in an email."),
    Topic("alumni.notification.delivered", 3, "A message reached its channel."),
    Topic("alumni.notification.failed", 3, "A message could not be delivered."),
)


def topic_partitions() -> dict[str, int]:
    """Every topic to create, dead-letter twins included, with its partition count."""
    wanted: dict[str, int] = {}
    for topic in CATALOG:
        wanted[topic.name] = topic.partitions
        wanted[topic.dead_letter] = DEAD_LETTER_PARTITIONS
    return wanted
