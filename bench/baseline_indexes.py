"""The baseline's indexes: the services' own, on the same collections, so that its writes cost
what theirs do (bench/baseline.py)."""

from pymongo import ASCENDING, DESCENDING


async def create_indexes(databases: dict) -> None:
    """`databases`: the baseline's, by service."""
    for db in databases.values():
        await db.processed_events.create_index("processed_at", expireAfterSeconds=30 * 86400)
        await db.outbox.create_index([("status", ASCENDING), ("seq", ASCENDING)])
    off, ident, notif = databases["offboarding"], databases["identity"], databases["notifications"]
    await off.exit_cases.create_index([("status", ASCENDING), ("departure_date", ASCENDING)])
    await off.exit_cases.create_index([("employee_id", ASCENDING), ("hire_date", DESCENDING)])
    await off.exit_cases.create_index("closed_at", sparse=True)
    await off.exit_invitations.create_index("case_id")
    await ident.alumni.create_index("stints.employee_id")
    await ident.alumni.create_index("profile.personal_email")
    await ident.email_confirmations.create_index("alumnus_id")
    await databases["referrals"].referrals.create_index("employee_id")
    await databases["referrals"].referrals.create_index("match.hired")
    for keys in ([("consents.events", ASCENDING), ("country", ASCENDING)], "alumnus_id"):
        await databases["engagement"].known_alumni.create_index(keys)
    await notif.reachable_alumni.create_index([("consents.events", ASCENDING), ("country", ASCENDING)])
    await notif.deliveries.create_index([("recipient_id", ASCENDING), ("created_at", ASCENDING)])
    await notif.deliveries.create_index("source_event_id")
    await notif.deliveries.create_index("created_at", expireAfterSeconds=365 * 86400)
