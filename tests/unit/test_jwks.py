"""Asymmetric bearer tokens: RS256 and ES256 checked against the identity provider's JWKS, with
keys generated here; the JWKS is answered through httpx's own mock transport."""

import asyncio
import base64
import hashlib
import hmac
import json
import logging
import time

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from fastapi import HTTPException
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

from shared.web.auth import TokenVerifier
from shared.web.jwks import JwksKeys, read_jwks

JWKS_URL = "https://idp.example/.well-known/jwks.json"


def rsa_key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def ec_key():
    return ec.generate_private_key(ec.SECP256R1())


def jwk(private, kid: str, **extra) -> dict:
    algorithm = RSAAlgorithm if isinstance(private, rsa.RSAPrivateKey) else ECAlgorithm
    return json.loads(algorithm.to_jwk(private.public_key())) | {"kid": kid, "use": "sig"} | extra


def token(private, kid: str | None, alg: str = "RS256", **claims) -> str:
    now = int(time.time())
    body = {"sub": "pm", "scope": "alumni:read", "iat": now, "exp": now + 600} | claims
    return jwt.encode(body, private, algorithm=alg, headers={"kid": kid} if kid else None)


class Provider:
    """The identity provider's JWKS endpoint: what it publishes, how often it was asked."""

    def __init__(self, *keys: dict) -> None:
        self.keys = list(keys)
        self.requests = 0
        self.answer: httpx.Response | None = None
        self.delay = 0.0

    async def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests += 1
        if self.delay:
            await asyncio.sleep(self.delay)
        return self.answer or httpx.Response(200, json={"keys": self.keys})

    def verifier(self, *, algorithms=("RS256", "ES256"), secret: str = "", clock=None, issuer="", audience="", **options) -> TokenVerifier:
        keys = JwksKeys(JWKS_URL, transport=httpx.MockTransport(self.handle), monotonic=clock or time.monotonic, **options)
        return TokenVerifier(secret, algorithms=algorithms, keys=keys, issuer=issuer, audience=audience)


def refused(verifier: TokenVerifier, raw: str) -> str:
    with pytest.raises(HTTPException) as refusal:
        asyncio.run(verifier.authenticate(raw))
    assert refusal.value.status_code == 401
    return refusal.value.detail


def test_rs256_and_es256_tokens_signed_by_published_keys_are_accepted() -> None:
    signing_rsa, signing_ec = rsa_key(), ec_key()
    provider = Provider(jwk(signing_rsa, "rsa-1"), jwk(signing_ec, "ec-1"))
    verifier = provider.verifier()
    assert asyncio.run(verifier.authenticate(token(signing_rsa, "rsa-1"))).scopes == {"alumni:read"}
    assert asyncio.run(verifier.authenticate(token(signing_ec, "ec-1", "ES256", sub="alumnus:alm_1", scope="alumni:self"))).alumnus_id == "alm_1"
    assert provider.requests == 1  # the keys were fetched once and cached


def test_a_forged_signature_under_a_published_key_id_is_refused() -> None:
    provider = Provider(jwk(rsa_key(), "rsa-1"))
    detail = refused(provider.verifier(), token(rsa_key(), "rsa-1"))
    assert detail == "the token is not valid (InvalidSignatureError)"


def test_an_unknown_key_id_is_refused_and_forged_ids_fetch_the_keys_at_most_once_per_interval() -> None:
    signing = rsa_key()
    provider = Provider(jwk(signing, "rsa-1"))
    now = [1000.0]
    verifier = provider.verifier(clock=lambda: now[0])
    assert asyncio.run(verifier.authenticate(token(signing, "rsa-1"))).subject == "pm"
    now[0] += 31
    for n in range(20):
        assert refused(verifier, token(rsa_key(), f"made-up-{n}")) == "the token is signed by a key this service does not know"
    assert provider.requests == 2  # the first fetch, then one refresh for the first unknown kid
    now[0] += 31
    refused(verifier, token(rsa_key(), "made-up-again"))
    assert provider.requests == 3


def test_a_rotated_key_is_picked_up_when_a_token_names_it() -> None:
    old, new = rsa_key(), rsa_key()
    provider = Provider(jwk(old, "2026-11"))
    now = [1000.0]
    verifier = provider.verifier(clock=lambda: now[0])
    assert asyncio.run(verifier.authenticate(token(old, "2026-11"))).subject == "pm"
    provider.keys = [jwk(new, "2026-12"), jwk(old, "2026-11")]  # the provider publishes its next key
    now[0] += 31
    assert asyncio.run(verifier.authenticate(token(new, "2026-12"))).subject == "pm"
    assert asyncio.run(verifier.authenticate(token(old, "2026-11"))).subject == "pm"  # still published, still good
    provider.keys = [jwk(new, "2026-12")]  # the old key withdrawn: its tokens stop once the keys are old
    now[0] += 3601
    assert refused(verifier, token(old, "2026-11")) == "the token is signed by a key this service does not know"


def test_hs256_made_with_the_public_key_is_refused() -> None:
    signing = rsa_key()
    public_pem = signing.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    header = {"alg": "HS256", "typ": "JWT", "kid": "rsa-1"}
    body = json.dumps({"sub": "pm", "scope": "alumni:admin", "exp": int(time.time()) + 600}).encode()
    # Made by hand, as an attacker would: pyjwt itself refuses a PEM as an HMAC key.
    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    signing_input = f"{b64(json.dumps(header).encode())}.{b64(body)}"
    forged = f"{signing_input}.{b64(hmac.new(public_pem, signing_input.encode(), hashlib.sha256).digest())}"
    provider = Provider(jwk(signing, "rsa-1"))
    assert refused(provider.verifier(), forged) == "the token is not valid (InvalidAlgorithmError)"
    # Even where HS256 is accepted beside the JWKS, an HS256 token is checked with the secret only.
    both = provider.verifier(algorithms=("HS256", "RS256"), secret="the-shared-secret-of-32-characters!")
    assert refused(both, forged) == "the token is not valid (InvalidSignatureError)"


def test_a_token_whose_algorithm_does_not_fit_its_key_is_refused() -> None:
    signing_rsa, signing_ec = rsa_key(), ec_key()
    provider = Provider(jwk(signing_rsa, "rsa-1", alg="RS256"), jwk(signing_ec, "ec-1"))
    verifier = provider.verifier(algorithms=("RS256", "RS384", "ES256"))
    assert refused(verifier, token(signing_ec, "rsa-1", "ES256")) == "the token's algorithm does not fit its key"
    assert refused(verifier, token(signing_rsa, "ec-1", "RS256")) == "the token's algorithm does not fit its key"
    assert refused(verifier, token(signing_rsa, "rsa-1", "RS384")) == "the token's algorithm does not fit its key"


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (jwt.encode({"sub": "pm", "exp": int(time.time()) + 600}, None, algorithm="none", headers={"kid": "rsa-1"}), "InvalidAlgorithmError"),
        ("e30.e30.", "the token is not valid"),
        ("x" * 9000, "longer than 8192"),
    ],
    ids=["none", "no algorithm", "oversized"],
)
def test_unsigned_and_malformed_tokens_are_refused(raw: str, message: str) -> None:
    assert message in refused(Provider(jwk(rsa_key(), "rsa-1")).verifier(), raw)


def test_a_token_without_a_key_id_is_refused() -> None:
    signing = rsa_key()
    assert refused(Provider(jwk(signing, "rsa-1")).verifier(), token(signing, None)) == "the token names no signing key (kid)"


def test_expiry_lifetime_issuer_and_audience_are_still_checked_for_asymmetric_tokens() -> None:
    signing = rsa_key()
    provider = Provider(jwk(signing, "rsa-1"))
    strict = provider.verifier(issuer="https://idp.example", audience="alumni")
    good = token(signing, "rsa-1", iss="https://idp.example", aud="alumni")
    assert asyncio.run(strict.authenticate(good)).subject == "pm"
    assert refused(strict, token(signing, "rsa-1", iss="https://elsewhere.example", aud="alumni")) == "the token is not valid (InvalidIssuerError)"
    assert refused(strict, token(signing, "rsa-1", iss="https://idp.example", aud="another")) == "the token is not valid (InvalidAudienceError)"
    assert refused(strict, token(signing, "rsa-1", iss="https://idp.example", aud="alumni", exp=int(time.time()) - 5)) == "the token has expired"
    month = token(signing, "rsa-1", iss="https://idp.example", aud="alumni", exp=int(time.time()) + 30 * 86400)
    assert "lives longer than" in refused(strict, month)


@pytest.mark.parametrize(
    ("answer", "reason"),
    [
        (httpx.Response(503, text="down for maintenance"), "HTTP 503"),
        (httpx.Response(200, content=b"<html>login</html>"), "not JSON"),
        (httpx.Response(200, json={"keys": [{"kty": "oct", "kid": "sym", "k": "c2VjcmV0"}]}), "no usable signing key"),
        (httpx.Response(200, content=b'{"keys": [' + b'{"kty": "RSA"},' * 8000 + b"{}]}"), "larger than 65536 bytes"),
        (httpx.Response(200, json=[1, 2]), "not a JWKS document"),
    ],
    ids=["unavailable", "not json", "symmetric key only", "oversized", "not a jwks"],
)
def test_a_jwks_that_cannot_be_used_is_logged_and_its_tokens_refused(answer: httpx.Response, reason: str, caplog) -> None:
    provider = Provider()
    provider.answer = answer
    verifier = provider.verifier()
    with caplog.at_level(logging.WARNING, logger="shared.web.jwks"):
        assert refused(verifier, token(rsa_key(), "rsa-1")) == "the token is signed by a key this service does not know"
    [line] = [r for r in caplog.records if r.name == "shared.web.jwks"]
    assert line.reason == reason and line.jwks_host == "idp.example"
    assert "maintenance" not in caplog.text and "login" not in caplog.text
    assert asyncio.run(verifier.keys.ready()) is False


def test_a_slow_jwks_gives_up_within_its_timeout() -> None:
    provider = Provider(jwk(rsa_key(), "rsa-1"))
    provider.delay = 5
    keys = provider.verifier(timeout_seconds=0.2).keys
    started = time.monotonic()
    assert asyncio.run(keys.refresh()) is False
    assert time.monotonic() - started < 2


def test_keys_kept_when_a_later_fetch_fails() -> None:
    signing = rsa_key()
    provider = Provider(jwk(signing, "rsa-1"))
    now = [1000.0]
    verifier = provider.verifier(clock=lambda: now[0])
    assert asyncio.run(verifier.keys.ready()) is True
    provider.answer = httpx.Response(500)
    now[0] += 4000  # the keys are old: fetched again, which fails
    assert asyncio.run(verifier.authenticate(token(signing, "rsa-1"))).subject == "pm"
    assert provider.requests == 2 and asyncio.run(verifier.keys.ready()) is True


def test_only_public_signing_keys_are_read_from_a_jwks() -> None:
    private = rsa_key()
    leaked = json.loads(RSAAlgorithm.to_jwk(private)) | {"kid": "leaked"}
    keys = read_jwks({"keys": [jwk(rsa_key(), "enc", use="enc"), leaked, jwk(ec_key(), "ec-1"), {"kty": "RSA", "kid": "broken", "n": "!!"}, "junk"]})
    assert set(keys) == {"ec-1"}
