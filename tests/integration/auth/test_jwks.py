"""The identity service as a real process checking bearer tokens against a JWKS served by a
real loopback identity provider: RS256 and ES256 tokens accepted, forged ones refused, a
rotated key picked up."""

import asyncio
from collections.abc import AsyncIterator

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from devstack.stack import LocalStack
from shared.settings import DEVELOPMENT_JWT_SECRET
from shared.web.auth import TokenVerifier
from tests.integration.identity_provider import IdentityProvider


@pytest.fixture(scope="module")
async def provider(stack: LocalStack) -> AsyncIterator[tuple[IdentityProvider, str]]:
    idp = IdentityProvider().start()
    idp.rotate("2026-11")
    idp.rotate("ec-2026-11", "EC")
    services = LocalStack(stack.cfg, service_env={"AUTH_JWKS_URL": idp.jwks_url, "AUTH_JWKS_REFRESH_MIN_INTERVAL_SECONDS": "1"})
    await services.up_services(["identity"], log=lambda line: None)
    yield idp, services.services["identity"].url
    services.services["identity"].stop()
    idp.stop()


async def _lookup(http: httpx.AsyncClient, identity: str, token: str) -> httpx.Response:
    return await http.get(f"{identity}/alumni", params={"employee_id": "E-NOBODY"}, headers={"Authorization": f"Bearer {token}"})


async def test_tokens_signed_by_the_providers_keys_are_accepted_and_forged_ones_refused(provider) -> None:
    idp, identity = provider
    async with httpx.AsyncClient(timeout=10) as http:
        ready = await http.get(f"{identity}/health/ready")
        assert ready.json()["checks"] == {"kafka": "ok", "mongodb": "ok", "jwks": "ok"}

        # Authenticated and allowed: nobody has this employee id.
        assert (await _lookup(http, identity, idp.token("2026-11", "pm", ["alumni:read"]))).status_code == 404
        assert (await _lookup(http, identity, idp.token("ec-2026-11", "pm", ["alumni:read"]))).status_code == 404
        assert (await _lookup(http, identity, idp.token("2026-11", "pm", ["alumni:self"]))).status_code == 403

        forged = idp.token("2026-11", "pm", ["alumni:admin"], signed_by=rsa.generate_private_key(public_exponent=65537, key_size=2048))
        refused = await _lookup(http, identity, forged)
        assert refused.status_code == 401 and refused.json() == {"detail": "the token is not valid (InvalidSignatureError)"}

        # With a JWKS, the development HS256 secret opens nothing, and an unsigned token neither.
        development = TokenVerifier(DEVELOPMENT_JWT_SECRET).issue("pm", ["alumni:admin"])
        assert (await _lookup(http, identity, development)).status_code == 401
        unsigned = jwt.encode({"sub": "pm", "scope": "alumni:admin", "exp": 4102444800}, None, algorithm="none", headers={"kid": "2026-11"})
        assert (await _lookup(http, identity, unsigned)).status_code == 401


async def test_a_rotated_key_is_fetched_when_a_token_names_it(provider) -> None:
    idp, identity = provider
    async with httpx.AsyncClient(timeout=10) as http:
        await asyncio.sleep(1.1)  # past the refresh interval of the last fetch
        before = idp.requests
        unknown = await _lookup(http, identity, idp.token("not-yet", "pm", ["alumni:read"], signed_by=rsa.generate_private_key(public_exponent=65537, key_size=2048)))
        assert unknown.status_code == 401 and unknown.json()["detail"] == "the token is signed by a key this service does not know"

        idp.rotate("2026-12")
        await asyncio.sleep(1.1)  # past the refresh interval: the next unknown key id fetches again
        assert (await _lookup(http, identity, idp.token("2026-12", "pm", ["alumni:read"]))).status_code == 404
        assert (await _lookup(http, identity, idp.token("2026-11", "pm", ["alumni:read"]))).status_code == 404
        assert idp.requests - before == 2
