"""The demo: replay a sample HRIS export into the running system, then say what happened.

    ./alumni demo                 # replays deploy/demo/hris-export.jsonl
    ./alumni demo --regenerate    # writes a new export first (deterministic: --seed)

Half of the departures go through the signed webhook (source `local`), half straight to Kafka,
as two HR systems would send them.
"""

import asyncio
import json
import random
import sys
import os
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import httpx
from aiokafka import AIOKafkaProducer
from pymongo import AsyncMongoClient

from devstack.config import ROOT, StackConfig
from devstack.errors import StackError
from services.offboarding.intake.signatures import sign_generic
from shared.events import Envelope
from shared.settings import DEVELOPMENT_JWT_SECRET
from shared.web.auth import TokenVerifier

EXPORT = ROOT / "deploy" / "demo" / "hris-export.jsonl"
WEBHOOK_SECRET = "local-webhook-secret"

FR_FIRST = ["Camille", "Léa", "Hugo", "Chloé", "Louis", "Inès", "Jules", "Manon", "Théo", "Zoé", "Élodie", "Mathéo", "Anaïs", "Noémie", "Bastien"]
FR_LAST = ["Martin", "Bernard", "Dubois", "Thomas", "Robert", "Petit", "Durand", "Leroy", "Moreau", "Lefèvre", "Garnier", "Faure", "Rousseau", "Blanc", "Chevalier"]
EN_FIRST = ["Oliver", "Amelia", "George", "Isla", "Harry", "Ava", "Jack", "Mia", "Noah", "Grace", "Leo", "Freya", "Arthur", "Lily", "Oscar"]
EN_LAST = ["Smith", "Jones", "Taylor", "Brown", "Williams", "Wilson", "Johnson", "Davies", "Patel", "Wright", "Walker", "Evans", "Hughes", "Edwards", "Green"]
DEPARTMENTS = ["Finance", "Engineering", "Sales", "Marketing", "Operations", "Legal", "People", "Data"]
CITIES = {"FR": ["Paris", "Lyon", "Nantes", "Lille", "Bordeaux"], "GB": ["London", "Manchester", "Leeds"], "BE": ["Bruxelles", "Gent"]}
REASONS = ["resignation"] * 10 + ["retirement"] * 2 + ["layoff"] * 2 + ["end_of_contract"] * 2 + ["mutual_agreement"] * 2 + ["termination_for_cause", "other"]


def generate(count: int = 300, seed: int = 7, today: date | None = None) -> list[dict]:
    """Departure records, with the kinds of trouble a real export has, each tagged `kind`."""
    rng = random.Random(seed)
    today = today or date.today()
    records: list[dict] = []
    for n in range(count):
        french = rng.random() < 0.55
        first, last = rng.choice(FR_FIRST if french else EN_FIRST), rng.choice(FR_LAST if french else EN_LAST)
        country = "FR" if french else rng.choice(["GB", "GB", "BE"])
        employee_id = f"DEMO-{n:05d}"
        hire = today - timedelta(days=rng.randint(200, 4000))
        slug = f"{first}.{last}".lower().translate(str.maketrans("éèëêïîôöüûàâç", "eeeeiioouuaac"))
        record = {
            "employee_id": employee_id, "first_name": first, "last_name": last, "work_email": f"{slug}.{n}@acme.example",
            "personal_email": f"{slug}.{n}@home.example" if rng.random() < 0.85 else None,
            "phone": f"+336{rng.randint(10000000, 99999999)}" if french and rng.random() < 0.6 else None,
            "department": rng.choice(DEPARTMENTS), "job_title": rng.choice(["Analyst", "Engineer", "Manager", "Director", "Consultant"]),
            "country": country, "city": rng.choice(CITIES[country]),
            "hire_date": hire.isoformat(),
            # Most have left already; some leave within the next weeks (future-dated).
            "departure_date": (today - timedelta(days=rng.randint(0, 20)) if rng.random() < 0.8 else today + timedelta(days=rng.randint(1, 30))).isoformat(),
            "departure_reason": rng.choice(REASONS), "litigation_pending": rng.random() < 0.03,
            "rehire_eligible": rng.random() < 0.8, "locale": "fr" if french else "en",
        }
        records.append({"kind": "departure", "via": "webhook" if n % 2 else "kafka", "payload": {k: v for k, v in record.items() if v is not None}})
    departures = [r["payload"] for r in records]
    for target in rng.sample(departures, 5):  # re-sent by the HRIS
        records.append({"kind": "resend", "via": "kafka", "payload": dict(target)})
    for target in rng.sample([d for d in departures if d["departure_date"] > today.isoformat()], 3):  # rescinded
        records.append({"kind": "cancellation", "via": "kafka", "payload": {"employee_id": target["employee_id"], "reason": "resignation rescinded"}})
    for target in rng.sample(departures, 3):  # boomerangs: rehired, leaving again
        again = dict(target) | {"hire_date": (today - timedelta(days=120)).isoformat(), "departure_date": today.isoformat(), "departure_reason": "resignation"}
        records.append({"kind": "boomerang", "via": "kafka", "payload": again})
    broken = dict(departures[0]) | {"employee_id": "DEMO-BROKEN-1", "departure_date": "1999-01-01"}
    records.append({"kind": "malformed", "via": "kafka", "payload": broken})
    records.append({"kind": "malformed", "via": "kafka", "payload": {"employee_id": "DEMO-BROKEN-2", "first_name": "Sans", "last_name": "Date"}})
    return records


def write_export(records: list[dict], path: Path = EXPORT, today: date | None = None) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    meta = {"kind": "meta", "generated_on": (today or date.today()).isoformat()}
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in [meta, *records]))


def read_export(path: Path = EXPORT, today: date | None = None) -> list[dict]:
    """The export's records, their dates moved by the time since it was written, so that the
    demo plays the same whatever the day (future departures stay in the future)."""
    lines = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    meta = next((r for r in lines if r["kind"] == "meta"), None)
    shift = (today or date.today()) - date.fromisoformat(meta["generated_on"]) if meta else timedelta()
    records = [r for r in lines if r["kind"] != "meta"]
    for record in records:
        for field in ("hire_date", "departure_date"):
            if field in record["payload"]:
                record["payload"][field] = (date.fromisoformat(record["payload"][field]) + shift).isoformat()
    return records


def _progress(done: int, total: int, started: float) -> None:
    width = 40
    filled = width * done // total
    sys.stdout.write(f"\r  [{'#' * filled}{'.' * (width - filled)}] {done}/{total} records, {time.monotonic() - started:.1f}s")
    sys.stdout.flush()


async def replay(cfg: StackConfig, records: list[dict]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=cfg.bootstrap_servers, acks="all", enable_idempotence=True)
    await producer.start()
    webhook = f"http://127.0.0.1:{cfg.service_ports()['offboarding']}/webhooks/hris/local"
    started = time.monotonic()
    try:
        async with httpx.AsyncClient(timeout=10) as http:
            for done, record in enumerate(records, start=1):
                payload = record["payload"]
                body = json.dumps(payload, ensure_ascii=False).encode()
                if record["via"] == "webhook":
                    timestamp = str(int(time.time()))
                    response = await http.post(webhook, content=body, headers={"X-Timestamp": timestamp, "X-Signature": sign_generic(WEBHOOK_SECRET, timestamp, body), "Content-Type": "application/json"})
                    if response.status_code >= 500:
                        raise StackError(f"the webhook answered {response.status_code}: {response.text}")
                else:
                    cancelled = record["kind"] == "cancellation"
                    topic = "hris.employee.departure-cancelled" if cancelled else "hris.employee.departed"
                    ce_type = "com.alumni.employee.departure-cancelled.v1" if cancelled else "com.alumni.employee.departed.v1"
                    headers = [(k, v.encode()) for k, v in Envelope(type=ce_type, source="/hris/demo-export").headers().items()]
                    await producer.send(topic, body, key=payload["employee_id"].encode(), headers=headers)
                if done == len(records) or done % max(1, len(records) // 40) == 0:
                    _progress(done, len(records), started)
            await producer.flush()
    finally:
        await producer.stop()
    print()


async def summary(cfg: StackConfig, expected_cases: int, timeout: float = 180) -> dict:
    client = AsyncMongoClient(cfg.mongodb_uri)
    try:
        offboarding, identity, notifications = client["alumni_offboarding"], client["alumni_identity"], client["alumni_notifications"]
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            cases = await offboarding.exit_cases.count_documents({"employee_id": {"$regex": "^DEMO-"}})
            planned = await notifications.deliveries.count_documents({"status": "planned"})
            if cases >= expected_cases and planned == 0:
                break
            await asyncio.sleep(1)
        demo = {"employee_id": {"$regex": "^DEMO-"}}
        grouped = await notifications.deliveries.aggregate([{"$group": {"_id": {"status": "$status", "channel": "$channel"}, "n": {"$sum": 1}}}])
        by_status = {(d["_id"]["channel"], d["_id"]["status"]): d["n"] async for d in grouped}
        return {
            "exit cases": await offboarding.exit_cases.count_documents(demo),
            "completed": await offboarding.exit_cases.count_documents(demo | {"status": "completed"}),
            "excluded": await offboarding.exit_cases.count_documents(demo | {"status": "completed", "decision.eligible": False}),
            "waiting for their date": await offboarding.exit_cases.count_documents(demo | {"status": "open"}),
            "cancelled": await offboarding.exit_cases.count_documents(demo | {"status": "cancelled"}),
            "alumni": await identity.alumni.count_documents({"stints.employee_id": {"$regex": "^DEMO-"}}),
            "boomerangs": await identity.alumni.count_documents({"stints.employee_id": {"$regex": "^DEMO-"}, "stints.1": {"$exists": True}}),
            "messages": {f"{channel} {status}": n for (channel, status), n in sorted(by_status.items())},
        }
    finally:
        await client.close()


async def host_event(cfg: StackConfig, secret: str, timeout: float = 180) -> dict:
    """The demo's hosted event: a meetup in Paris in two weeks for the alumni in France, published
    through engagement's API; once its invitations are told, how many were sent."""
    headers = {"Authorization": f"Bearer {TokenVerifier(secret).issue('demo', ['events:write'])}"}
    engagement = f"http://127.0.0.1:{cfg.service_ports()['engagement']}"
    starts = (datetime.now(UTC) + timedelta(days=14)).replace(hour=17, minute=30, second=0, microsecond=0)
    body = {
        "title": "Afterwork des anciens", "kind": "meetup", "description": "Retrouvailles et nouvelles de l'entreprise.",
        "starts_at": starts.isoformat(), "ends_at": (starts + timedelta(hours=3)).isoformat(), "timezone": "Europe/Paris",
        "location": "Paris", "locale": "fr", "capacity": 40, "audience": {"countries": ["FR"]},
    }
    async with httpx.AsyncClient(timeout=30) as http:
        created = await http.post(f"{engagement}/events", json=body, headers=headers)
        if created.status_code != 201:
            raise StackError(f"engagement refused the demo's event ({created.status_code}): {created.text}")
        event_id = created.json()["event_id"]
        await http.post(f"{engagement}/events/{event_id}/publish", headers=headers)
    client = AsyncMongoClient(cfg.mongodb_uri)
    try:
        mailings, deliveries = client["alumni_engagement"].mailings, client["alumni_notifications"].deliveries
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if await mailings.find_one({"event_id": event_id, "done": True}) and not await deliveries.find_one({"status": "planned"}):
                break
            await asyncio.sleep(1)
        return {"event_id": event_id, "invitations sent": await deliveries.count_documents({"template": "event_invitation", "status": "sent"})}
    finally:
        await client.close()


async def dead_letters(cfg: StackConfig) -> int:
    from shared.tools.dlq import read_dead_letters

    letters = await read_dead_letters(cfg.bootstrap_servers, "hris.employee.departed.dlq")
    return sum(1 for d in letters if (d.record.key or b"").startswith(b"DEMO-"))


async def referrals(cfg: StackConfig) -> dict:
    """Some of the new alumni refer candidates and clients, and the ATS moves them (devstack/demo_referrals.py)."""
    from devstack import demo_referrals
    from shared.settings import DEVELOPMENT_ATS_WEBHOOK_SECRET, DEVELOPMENT_JWT_SECRET

    client = AsyncMongoClient(cfg.mongodb_uri)
    try:
        cursor = client["alumni_identity"].alumni.find({"stints.employee_id": {"$regex": "^DEMO-"}}, {"_id": 1}, limit=4)
        alumni = [d["_id"] async for d in cursor]
    finally:
        await client.close()
    url = f"http://127.0.0.1:{cfg.service_ports()['referrals']}"
    return await demo_referrals.play(url, DEVELOPMENT_JWT_SECRET, "local", DEVELOPMENT_ATS_WEBHOOK_SECRET, alumni)


def run(cfg: StackConfig, *, regenerate: bool, seed: int, count: int) -> int:
    if regenerate or not EXPORT.exists():
        write_export(generate(count, seed))
        print(f"wrote {EXPORT}")
    records = read_export()
    print(f"replaying {len(records)} records from {EXPORT.relative_to(ROOT)} (half by webhook, half to Kafka)")
    asyncio.run(replay(cfg, records))
    distinct_cases = len({(r["payload"]["employee_id"], r["payload"].get("hire_date")) for r in records if r["kind"] in ("departure", "boomerang")})
    print("waiting for the services to finish ...")
    result = asyncio.run(summary(cfg, distinct_cases))
    result["dead letters"] = asyncio.run(dead_letters(cfg))
    result["referrals"] = asyncio.run(referrals(cfg))
    print("hosting an event for the alumni in France ...")
    result["hosted event"] = asyncio.run(host_event(cfg, os.environ.get("AUTH_JWT_SECRET", DEVELOPMENT_JWT_SECRET)))
    width = max(len(k) for k in result)
    for key, value in result.items():
        if isinstance(value, dict):
            print(f"  {key:<{width}}  " + ", ".join(f"{k}: {v}" for k, v in value.items()))
        else:
            print(f"  {key:<{width}}  {value}")
    ports = cfg.service_ports()
    print(f"""
where to look:
  mailbox      {cfg.sinks / 'mail'}  (one .eml per message)
  chat posts   {cfg.sinks / 'chat.jsonl'}
  dead letters ./alumni dlq list hris.employee.departed
  alumni API   curl -H "Authorization: Bearer $(./alumni token --scope alumni:read)" "http://127.0.0.1:{ports['identity']}/directory?country=FR"
  referrals    curl -H "Authorization: Bearer $(./alumni token --scope referrals:read)" "http://127.0.0.1:{ports['referrals']}/referrals/stats"
  deliveries   curl -H "Authorization: Bearer $(./alumni token --scope alumni:read)" "http://127.0.0.1:{ports['notifications']}/deliveries?alumnus_id=<id>"
  the event    curl -H "Authorization: Bearer $(./alumni token --scope events:read)" "http://127.0.0.1:{ports['engagement']}/events/{result['hosted event']['event_id']}/attendees"
  API docs     http://127.0.0.1:{ports['identity']}/docs, http://127.0.0.1:{ports['offboarding']}/docs, http://127.0.0.1:{ports['notifications']}/docs, http://127.0.0.1:{ports['engagement']}/docs
  traces       set OTEL_EXPORTER_OTLP_ENDPOINT before ./alumni up (docker compose runs Jaeger on :16686)""")
    return 0
