"""A mailing's walk through engagement's projection on the real database: bounded ranges of the
`alumnus_id` index (services/engagement/id_ranges.py) tell every invited alumnus once, in chunks
of at most the chunk size, alumni projected before the field existed included."""

import random
import uuid
from types import SimpleNamespace

from pymongo.asynchronous.database import AsyncDatabase

from services.engagement import repository
from services.engagement.documents import known_to_document
from services.engagement.audience import Audience, KnownAlumnus
from services.engagement.domain import Mailing
from services.engagement.id_ranges import range_end
from services.engagement.known_alumni import MongoKnownAlumni

ALUMNI, CHUNK = 1_200, 100


def alumnus(alumnus_id: str, country: str, consented: bool) -> KnownAlumnus:
    return KnownAlumnus(alumnus_id, "en", country, "finance", ("sql",), (), (2024,), False, 1, {"events": consented}, {"events": 1})


async def test_a_mailing_tells_every_invited_alumnus_once_through_bounded_ranges(db: AsyncDatabase) -> None:
    rng = random.Random(5)
    alumni = [alumnus(f"alm_{uuid.UUID(int=rng.getrandbits(128)).hex}", rng.choice(["FR", "DE"]), rng.random() < 0.9) for _ in range(ALUMNI)]
    documents = [known_to_document(a) for a in alumni]
    for old in documents[:300]:  # projected before `alumnus_id` was written
        del old["alumnus_id"]
    await db[repository.KNOWN_ALUMNI].insert_many(documents)
    await db[repository.KNOWN_ALUMNI].insert_one({"_id": "alm_erased", "erased_at": "2026-01-01"})  # a tombstone
    await repository.ensure_indexes(db)
    assert await db[repository.KNOWN_ALUMNI].count_documents({"alumnus_id": {"$exists": False}}) == 1  # the tombstone only

    known = MongoKnownAlumni(SimpleNamespace(db=db, session=None))
    audience = Audience(countries=("FR",))
    mailing, chunks, bounded = Mailing("m", "evt_1", "invitations"), [], 0
    while not mailing.done:
        end = range_end(mailing.after, mailing.span)
        bounded += end is not None
        told = await known.invitable_in(audience, mailing.after, end, CHUNK)
        mailing.advance(told, CHUNK, end)
        chunks += [told] if told else []

    invited = sorted(a.alumnus_id for a in alumni if a.country == "FR" and a.consents["events"])
    told = [i for chunk in chunks for i in chunk]
    assert told == invited  # each once, in id order
    assert max(map(len, chunks)) <= CHUNK and bounded >= len(chunks) - 2
    print(f"mailing walk: {len(invited)} invited of {ALUMNI} in {len(chunks)} chunks, {bounded} bounded ranges")
