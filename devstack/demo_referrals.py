"""The demo's referrals: alumni the replay registered refer candidates and clients (one of them
twice: the first referrer wins), the ATS moves the applications through the signed webhook
(one candidate hired, one rejected, one application matching no referral), a client deal is
won, and the bonuses due are approved, so that the referrer's emails reach the mailbox."""

import asyncio
import json
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import httpx

from services.referrals.ats.signatures import sign_generic
from services.referrals.domain import ATS_STATUSES
from shared.web.auth import TokenVerifier

CANDIDATES = [("Hugo Lambert", "Data engineer"), ("Sarah Cohen", "Product designer"), ("Tom Baker", "Sales lead"),
              ("Inès Haddad", "Controller"), ("Lucas Moreau", "SRE")]
CLIENTS = [("Globex", "ERP roll-out"), ("Initech", "Data platform")]
# Each candidate's path through the ATS (by index): hired, rejected, still interviewing.
ATS_PATHS = {0: ["screening", "interviewing", "offer", "hired"], 1: ["screening", "rejected"], 2: ["screening", "interviewing"]}


def _now(clock: Callable[[], datetime] | None) -> datetime:
    return clock() if clock else datetime.now(UTC)


async def play(base_url: str, jwt_secret: str, ats_source: str, ats_secret: str, alumni: list[str], *,
               clock: Callable[[], datetime] | None = None) -> dict:
    """`alumni`: ids of registered alumni (at least two). What happened, counted."""
    if len(alumni) < 2:
        return {"skipped": "fewer than two alumni to refer"}
    tokens = TokenVerifier(jwt_secret)
    run = uuid.uuid4().hex[:6]  # the demo may be played again: new candidates each time
    staff = {"Authorization": f"Bearer {tokens.issue('demo-recruiter', ['referrals:admin'])}"}
    result = {"submitted": 0, "duplicates refused": 0, "ats movements": 0, "unmatched applications": 0}
    async with httpx.AsyncClient(base_url=base_url, timeout=10) as http:
        async def refer(alumnus_id: str, body: dict) -> httpx.Response:
            own = {"Authorization": f"Bearer {tokens.issue(f'alumnus:{alumnus_id}', ['alumni:self'])}"}
            response = await http.post("/referrals", json=body, headers=own)
            result["submitted"] += response.status_code == 201
            result["duplicates refused"] += response.status_code == 409
            return response

        emails, referral_ids = [], []
        for n, (name, position) in enumerate(CANDIDATES):
            email = f"{name.split()[0].lower()}.{run}@candidates.example"
            body = {"kind": "candidate", "candidate_name": name, "candidate_email": email, "position": position, "candidate_consent": True}
            response = await refer(alumni[n % len(alumni)], body)
            emails.append(email)
            referral_ids.append(response.json().get("referral_id"))
        await refer(alumni[1], {"kind": "candidate", "candidate_name": CANDIDATES[0][0], "candidate_email": emails[0].upper(),
                                "candidate_consent": True})  # already referred by alumni[0]
        won = None
        for n, (company, opportunity) in enumerate(CLIENTS):
            response = await refer(alumni[(n + 1) % len(alumni)], {"kind": "client", "company": f"{company} {run} SAS",
                                                                    "contact_name": "Nora Petit", "opportunity": opportunity})
            won = won or response.json().get("referral_id")

        async def ats(payload: dict) -> None:
            body = json.dumps(payload).encode()
            timestamp = str(int(_now(clock).timestamp()))
            headers = {"X-Timestamp": timestamp, "X-Signature": sign_generic(ats_secret, timestamp, body), "Content-Type": "application/json"}
            result["ats movements"] += (await http.post(f"/webhooks/ats/{ats_source}", content=body, headers=headers)).status_code == 202

        for n, path in ATS_PATHS.items():
            for step, status in enumerate(path):
                await ats({"application_id": f"DEMO-APP-{run}-{n}", "candidate_email": emails[n], "status": status,
                           "changed_at": (_now(clock) + timedelta(seconds=step)).isoformat(), **({"employee_id": f"DEMO-HIRE-{run}"} if status == "hired" else {})})
                await asyncio.sleep(0.05)
        await ats({"application_id": f"DEMO-APP-{run}-x", "candidate_email": f"walk-in.{run}@candidates.example", "status": "applied",
                   "changed_at": _now(clock).isoformat()})
        result["unmatched applications"] = 1
        if won:
            await http.patch(f"/referrals/{won}", json={"status": "qualified"}, headers=staff)
            await http.patch(f"/referrals/{won}", json={"status": "won", "deal_value": {"amount": "150000", "currency": "EUR"}}, headers=staff)
        result["bonuses approved"] = await _approve(http, staff, [referral_ids[0], won])
        settled = {referral_ids[n]: ATS_STATUSES[path[-1]] for n, path in ATS_PATHS.items()}
        statuses = await _statuses(http, staff, [r for r in referral_ids + [won] if r], settled)
        result["statuses"] = {s: statuses.count(s) for s in sorted(set(statuses))}
    return result


async def _approve(http: httpx.AsyncClient, staff: dict, referral_ids: list[str | None], timeout: float = 20) -> int:
    """Approve the bonuses pending for these referrals, once the ATS's hire has reached them."""
    approved, deadline = 0, time.monotonic() + timeout
    for referral_id in filter(None, referral_ids):
        while time.monotonic() < deadline:
            pending = (await http.get("/bonuses", params={"referral_id": referral_id, "status": "pending_approval"}, headers=staff)).json()["items"]
            if pending:
                for bonus in pending:
                    approved += (await http.post(f"/bonuses/{bonus['bonus_id']}/approve", headers=staff)).status_code == 200
                break
            await asyncio.sleep(0.3)
    return approved


async def _statuses(http: httpx.AsyncClient, staff: dict, referral_ids: list[str], settled: dict, timeout: float = 20) -> list[str]:
    """The referrals' statuses once the ATS's last movements have reached them (or `timeout`)."""
    deadline = time.monotonic() + timeout
    while True:
        statuses = {r: (await http.get(f"/referrals/{r}", headers=staff)).json().get("status") for r in referral_ids}
        if all(statuses.get(r) == s for r, s in settled.items()) or time.monotonic() > deadline:
            return list(statuses.values())
        await asyncio.sleep(0.3)
