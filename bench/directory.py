"""Directory search at 100,000 alumni: p50 and p95 of GET /directory per query shape, over HTTP,
against the real identity service.

    .venv/bin/python -m bench.directory [--alumni 100000 --requests 30]

The alumni are seeded in bulk as identity stores them: the documents its repository writes
(`alumnus_document` of generated alumni: a fifth with one of 60 common French and English surnames,
weighted by rank, the others from 4,000 rarer ones; first names from 330; 1 to 5 of 60 skills, 10 departments, 15 countries, 80 cities, departures over 20 years,
80% consenting to the directory), then the directory's counts rebuilt from them as identity's
start-up does for a store that has none (`directory_build.rebuild`). Each shape is asked
`--requests` times, one request at a time: the first page and a deep page (in the middle of the
results) without a filter, for each filter the API offers, and for two pairs of filters (skill
and country, department and country), located from their pair counts; the first page of a
third pair (city and departure year); and three filters, which have no counts: the first page
reads every entry of the most selective and keeps them together (services/identity/
directory_members.py), the next ones read those; then the same three filters each after a
change to one of the narrowest filter's alumni (a move to another city, saved by identity's
repository: the page reads the kept members and the changes since), and each after one of them
leaves the directory (its consent withdrawn: taken out of the kept members in the transaction
that drops the entry, the page reads what is left).
"""

import argparse
import asyncio
import logging
import random
import shutil
import statistics
import time
from datetime import UTC, date, datetime, timedelta
from typing import Any, Callable

import httpx
from pymongo import AsyncMongoClient

from bench.stack import bench_config
from devstack.stack import LocalStack
from services.identity import directory, directory_build, directory_pairs
from services.identity.domain import Alumnus, Consent
from services.identity.directory_search import ENTRIES
from services.identity.repository import ALUMNI, MongoAlumni, alumnus_document, alumnus_from_document
from shared.events.alumni import AlumnusProfile, Stint
from shared.clock import system_clock
from shared.events.types import Purpose, Willingness
from shared.messaging.outbox import Outbox
from shared.messaging.uow import Transactions
from shared.settings import DEVELOPMENT_JWT_SECRET
from shared.web.auth import TokenVerifier

LAST = ("Martin", "Bernard", "Thomas", "Petit", "Robert", "Richard", "Durand", "Dubois", "Moreau", "Laurent", "Simon", "Michel",
        "Lefebvre", "Leroy", "Roux", "David", "Bertrand", "Morel", "Fournier", "Girard", "Bonnet", "Dupont", "Lambert", "Fontaine",
        "Rousseau", "Vincent", "Muller", "Lefevre", "Faure", "Andre", "Mercier", "Blanc", "Guerin", "Boyer", "Garnier", "Chevalier",
        "Smith", "Jones", "Taylor", "Brown", "Williams", "Wilson", "Johnson", "Davies", "Robinson", "Wright", "Thompson", "Evans",
        "Walker", "White", "Roberts", "Green", "Hall", "Wood", "Jackson", "Clarke", "O'Neil", "Müller", "Nguyen", "García")
FIRST = ("Jean", "Marie", "Pierre", "Nathalie", "Michel", "Isabelle", "Philippe", "Sylvie", "Alain", "Catherine", "Nicolas",
         "Léa", "Hugo", "Chloé", "Lucas", "Emma", "Oliver", "Amelia", "George", "Isla", "Harry", "Ava", "Noah", "Mia", "Jack",
         "Sophie", "Thomas", "Julie", "Antoine", "Camille")
SYLLABLES = ("ba", "be", "bo", "ca", "ce", "da", "de", "di", "fa", "fo", "ga", "gu", "la", "le", "li", "lo", "ma", "me", "mi",
             "mo", "na", "ne", "no", "pa", "pe", "ra", "re", "ri", "ro", "sa", "se", "ta", "te", "to", "va", "vi")
# A long tail as in a real company: thousands of rarer surnames and hundreds of first names.
RARE_LAST = tuple(sorted({(a + b + c).capitalize() + end for a in SYLLABLES[::3] for b in SYLLABLES for c in SYLLABLES[::4] for end in ("", "t")}))[:4000]
RARE_FIRST = tuple((a + b).capitalize() + "l" for a in SYLLABLES for b in SYLLABLES[::4])[:300]
SKILLS = tuple(f"skill-{i:02d}" for i in range(60))
DEPARTMENTS = ("engineering", "sales", "marketing", "finance", "hr", "legal", "support", "product", "design", "operations")
COUNTRIES = ("FR", "GB", "DE", "US", "ES", "IT", "NL", "BE", "CH", "PT", "SE", "PL", "IE", "CA", "IN")
CITIES = tuple(f"city-{i:02d}" for i in range(80))
Log = Callable[[str], None]


def sample_alumnus(n: int, rng: random.Random, now: datetime) -> Alumnus:
    """The `n`-th generated alumnus, with one stint."""
    # One in five has a common surname, weighted by rank (Martin the most common, 2% of everyone):
    # pages crowd where they do; the others are spread over the long tail.
    if rng.random() < 0.2:
        last = rng.choices(LAST, weights=[1 / (rank + 1) for rank in range(len(LAST))])[0]
    else:
        last = rng.choice(RARE_LAST)
    first = rng.choice(FIRST) if rng.random() < 0.3 else rng.choice(RARE_FIRST)
    left = date(2006, 1, 1) + timedelta(days=rng.randrange(20 * 365))
    profile = AlumnusProfile(
        first_name=first, last_name=last, personal_email=f"a{n}@home.example", department=rng.choice(DEPARTMENTS),
        job_title="Engineer", country=rng.choice(COUNTRIES), city=rng.choice(CITIES), skills=rng.sample(SKILLS, rng.randint(1, 5)),
        willing_to=rng.sample(list(Willingness), rng.randint(0, 3)),
    )
    return Alumnus(
        alumnus_id=f"al-{n:07d}", profile=profile, stints=[Stint(employee_id=f"E{n:07d}", hire_date=left - timedelta(days=900), departure_date=left)],
        consents={Purpose.DIRECTORY: Consent(rng.random() < 0.8, now, "exit-form")}, version=1, registered_at=now, updated_at=now,
    )


async def seed(client: AsyncMongoClient, alumni: int, log: Log = print, batch: int = 1000) -> float:
    """`alumni` alumni in identity's database, as it stores them, and its directory counts."""
    db = client["alumni_identity"]
    rng, now, started = random.Random(15), datetime.now(UTC), time.monotonic()
    for start in range(0, alumni, batch):
        await db[ALUMNI].insert_many([alumnus_document(sample_alumnus(n, rng, now)) for n in range(start, min(start + batch, alumni))], ordered=False)
        if (start + batch) % 20_000 == 0:
            log(f"  {start + batch:,} alumni seeded, {time.monotonic() - started:.0f}s")
    listed = await directory_build.rebuild(db)
    log(f"seeded {alumni:,} alumni ({listed:,} listed) and their directory counts in {time.monotonic() - started:.0f}s")
    return time.monotonic() - started


def shapes(totals: dict[str, int]) -> list[tuple[str, dict[str, Any]]]:
    """(label, query) for every shape measured; deep pages are in the middle of the results."""
    filters = [("skill", {"skill": "skill-07"}), ("department", {"department": "sales"}), ("country", {"country": "FR"}),
               ("city", {"city": "city-42"}), ("departure_year", {"departure_year": 2016}), ("willing_to", {"willing_to": "mentor"})]
    out = [("no filter, first page", {}), ("no filter, deep page", {"page": max(1, totals["all"] // 40)})]
    pairs = [("skill + country", {"skill": "skill-07", "country": "FR"}), ("department + country", {"department": "sales", "country": "FR"})]
    for label, query in filters + pairs:
        facet = directory.DirectoryQuery(**query).facet()
        out += [(f"{label}, first page", query), (f"{label}, deep page", query | {"page": max(1, totals.get(facet, 0) // 40)})]
    # Some 50 alumni at 100,000, so a first page only; then three filters, which have no counts.
    out.append(("city + departure_year, first page", {"city": "city-42", "departure_year": 2016}))
    out.append((THREE, {"skill": "skill-07", "country": "FR", "willing_to": "mentor"}))
    out.append((THREE_CHANGED, {"skill": "skill-07", "country": "FR", "willing_to": "mentor"}))
    out.append((THREE_LEFT, {"skill": "skill-07", "country": "FR", "willing_to": "mentor"}))
    return out


THREE = "skill + country + willing_to, first page"
THREE_CHANGED = "the same, each after a change among them"
THREE_LEFT = "the same, each after one of them left"


class Changes:
    """Changes to the alumni of the narrowest of a query's filters, as identity makes them (its
    repository, in a transaction), between two timed requests."""

    def __init__(self, client: AsyncMongoClient, totals: dict[str, int]) -> None:
        self.db, self.totals, self.rng = client["alumni_identity"], totals, random.Random(5)
        self.transactions = Transactions(client, self.db, Outbox(self.db, source="/bench"), _NoRelay(), system_clock)
        self.members: dict[str, list[str]] = {}

    async def make(self, query: dict[str, Any], leave: bool) -> None:
        narrowest = min((directory_pairs.label(f) for f in directory.DirectoryQuery(**query).asked()), key=lambda f: self.totals.get(f, 0))
        if narrowest not in self.members:
            self.members[narrowest] = [e["_id"] async for e in self.db[ENTRIES].find({"v": narrowest}, {"_id": 1})]
        ids = self.members[narrowest]
        alumnus = alumnus_from_document(await self.db[ALUMNI].find_one({"_id": ids.pop(self.rng.randrange(len(ids)))}))
        if leave:
            alumnus.consents[Purpose.DIRECTORY] = Consent(False, datetime.now(UTC), "alumnus")
        else:
            alumnus.profile = alumnus.profile.model_copy(update={"city": self.rng.choice(CITIES)})
        await self.transactions.run(lambda uow: MongoAlumni(uow).save(alumnus))


class _NoRelay:
    def wake(self, committed: list[dict] = ()) -> None: ...


async def measure_directory(stack: LocalStack, alumni: int = 100_000, log: Log = print, requests: int = 30) -> dict[str, Any]:
    """Seed `alumni`, then time each shape over HTTP; {label: {p50_ms, p95_ms, total, page}}."""
    client = AsyncMongoClient(stack.cfg.mongodb_uri, tz_aware=True)
    try:
        await seed(client, alumni, log)
        totals = {d["_id"]: d["n"] async for d in client["alumni_identity"][directory.FACETS].find({"n": {"$exists": True}}, {"n": 1})}
        return await _measure(stack, client, totals, log, requests)
    finally:
        await client.close()


async def _measure(stack: LocalStack, client: AsyncMongoClient, totals: dict[str, int], log: Log, requests: int) -> dict[str, Any]:
    token = TokenVerifier(DEVELOPMENT_JWT_SECRET).issue("bench", ["alumni:read"])
    results: dict[str, Any] = {}
    async with httpx.AsyncClient(base_url=stack.services["identity"].url, headers={"Authorization": f"Bearer {token}"}, timeout=120) as http:
        log(f"  {'query shape':44s} {'p50 ms':>8s} {'p95 ms':>8s}  {'total':>7s} page")
        floor = []
        for _ in range(requests):  # one transaction with one read, for scale
            t = time.perf_counter()
            await http.get("/alumni/al-0000001")
            floor.append((time.perf_counter() - t) * 1000)
        log(f"  {'(one alumnus read: GET /alumni/{id})':44s} {statistics.median(floor):8.1f} {statistics.quantiles(floor, n=100, method='inclusive')[94]:8.1f}")
        changes = Changes(client, totals)
        for label, query in shapes(totals):
            params = {"page_size": 20, **query}
            took = []
            for _ in range(requests):
                if label in (THREE_CHANGED, THREE_LEFT):
                    await changes.make(query, leave=label == THREE_LEFT)
                t = time.perf_counter()
                response = await http.get("/directory", params=params)
                took.append((time.perf_counter() - t) * 1000)
                response.raise_for_status()
            body = response.json()
            p95 = statistics.quantiles(took, n=100, method="inclusive")[94]
            results[label] = {"p50_ms": statistics.median(took), "p95_ms": p95, "total": body["total"], "page": body["page"], "items": len(body["items"])}
            log(f"  {label:44s} {statistics.median(took):8.1f} {p95:8.1f}  {body['total']:7d} {body['page']}")
    return results


async def main(args: argparse.Namespace) -> None:
    logging.getLogger("aiokafka").setLevel(logging.CRITICAL)
    cfg = bench_config("bench-directory", args.ports)
    stack = LocalStack(cfg, service_env={"LOG_LEVEL": "WARNING", "CHAT_CHANNELS": "{}"})
    stack.down(log=lambda line: None)
    shutil.rmtree(cfg.home, ignore_errors=True)
    print(f"starting an empty stack in {cfg.home} (identity only) ...", flush=True)
    try:
        await stack.up_infrastructure(log=lambda line: None)
        await stack.up_services(["identity"], log=lambda line: None)
        await measure_directory(stack, args.alumni, requests=args.requests)
    finally:
        stack.down(log=lambda line: None)


def cli(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench.directory", description=__doc__.split("\n\n")[0])
    parser.add_argument("--alumni", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=30, help="requests per query shape")
    parser.add_argument("--ports", type=int, default=29600, help="first of the stack's ports")
    asyncio.run(main(parser.parse_args(argv)))
    return 0


if __name__ == "__main__":
    raise SystemExit(cli())
