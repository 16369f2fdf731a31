"""Lever's webhooks carry ids, no email: when the source has an API key, the opportunity is read
from Lever's data API (`GET {api_base_url}/v1/opportunities/{id}`, HTTP basic with the API key
as the user; the answer's `data.emails` lists the candidate's addresses), so that the
application can be matched by email as any other. Without a key, it is matched only through an
application already linked to a referral."""

import re
from urllib.parse import quote

import httpx

from services.referrals.ats.formats import PayloadRefused
from services.referrals.ats.sources import AtsSource
from shared.events.referrals import ApplicationStatusChanged

# Lever's ids are UUIDs: anything else would walk its API (`../`, a query) and is refused.
OPPORTUNITY_ID = re.compile(r"[A-Za-z0-9-]{1,64}")


class VendorUnavailable(Exception):
    """The ATS's API did not answer usefully: answered 503, so that the ATS retries."""


async def with_candidate_email(source: AtsSource, event: ApplicationStatusChanged, http: httpx.AsyncClient) -> ApplicationStatusChanged:
    if source.kind != "lever" or not source.api_base_url or event.candidate_email or event.referral_id:
        return event
    opportunity = event.application_id.removeprefix("lever:")
    if not OPPORTUNITY_ID.fullmatch(opportunity):
        raise PayloadRefused("data.opportunityId is not a Lever id")
    url = f"{source.api_base_url.rstrip('/')}/v1/opportunities/{quote(opportunity, safe='')}"
    try:
        response = await http.get(url, auth=(source.api_key.get_secret_value(), ""))
    except httpx.HTTPError as exc:
        raise VendorUnavailable(f"GET {url}: {type(exc).__name__}") from exc
    if response.status_code == 404:
        raise PayloadRefused("Lever does not know this opportunity")
    if response.status_code >= 400:
        raise VendorUnavailable(f"GET {url} answered {response.status_code}")
    try:
        emails = response.json()["data"].get("emails") or []
    except (ValueError, KeyError, TypeError, AttributeError):
        raise VendorUnavailable(f"GET {url} answered something that is not an opportunity") from None
    first = next((e for e in emails if isinstance(e, str) and "@" in e and len(e) <= 254), None)
    return event.model_copy(update={"candidate_email": first}) if first else event
