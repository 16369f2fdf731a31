"""The identity provider's public signing keys (a JWKS, RFC 7517), fetched over HTTP and cached.

A token naming a key not held makes the keys be fetched again, at most once per
`min_refresh_interval` (a flood of tokens with made-up key ids costs the provider one request
per interval, not one per token); keys older than `max_age` are fetched again on next use. A
fetch that fails keeps the keys held and says so in one log line. Responses are bounded in size
and time; only RSA and EC signing keys are kept, so a symmetric key published by mistake can
never verify a token.
"""

import asyncio
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx
import jwt

log = logging.getLogger(__name__)

MAX_KEYS = 100
MAX_KID_LENGTH = 256
KEY_TYPES = {"RSA", "EC"}


# The curve each ECDSA algorithm signs with.
CURVES = {"ES256": "P-256", "ES384": "P-384", "ES512": "P-521"}


@dataclass(frozen=True)
class SigningKey:
    kid: str
    kty: str
    crv: str | None
    alg: str | None  # the algorithm the provider bound the key to, when it says
    key: Any  # a cryptography public key

    def signs(self, alg: str) -> bool:
        """Whether a token signed with `alg` may be checked with this key (no algorithm confusion)."""
        if self.alg is not None and self.alg != alg:
            return False
        if alg[:2] in ("RS", "PS"):
            return self.kty == "RSA"
        return self.kty == "EC" and CURVES.get(alg) == self.crv


class JwksUnavailable(Exception):
    """The keys could not be fetched or read; the message is ours, never the provider's text."""


def read_jwks(data: Any) -> dict[str, SigningKey]:
    """The signing keys of a JWKS document, by key id; keys that are not for signatures, have no
    id, or are of another type are left out."""
    if not isinstance(data, dict) or not isinstance(data.get("keys"), list):
        raise JwksUnavailable("not a JWKS document")
    keys: dict[str, SigningKey] = {}
    for entry in data["keys"][:MAX_KEYS]:
        if not isinstance(entry, dict) or entry.get("kty") not in KEY_TYPES or entry.get("use", "sig") != "sig":
            continue
        kid = entry.get("kid")
        if not isinstance(kid, str) or not 0 < len(kid) <= MAX_KID_LENGTH:
            continue
        alg, crv = entry.get("alg"), entry.get("crv")
        if not isinstance(alg, str | None) or not isinstance(crv, str | None):
            continue
        try:
            public_key = jwt.PyJWK(entry).key
        except (jwt.PyJWKError, jwt.InvalidKeyError, ValueError, TypeError):
            continue
        if hasattr(public_key, "private_numbers"):  # a private key published by mistake: never used
            continue
        keys[kid] = SigningKey(kid, entry["kty"], crv, alg, public_key)
    if not keys:
        raise JwksUnavailable("no usable signing key")
    return keys


class JwksKeys:
    def __init__(
        self,
        url: str,
        *,
        timeout_seconds: float = 5.0,
        max_bytes: int = 65536,
        min_refresh_interval_seconds: float = 30.0,
        max_age_seconds: float = 3600.0,
        monotonic: Callable[[], float] = time.monotonic,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.url = url
        self.host = urlsplit(url).netloc
        self.timeout = timeout_seconds
        self.max_bytes = max_bytes
        self.min_refresh_interval = min_refresh_interval_seconds
        self.max_age = max_age_seconds
        self._monotonic = monotonic
        self._transport = transport
        self._keys: dict[str, SigningKey] = {}
        self._fetched_at: float | None = None
        self._attempted_at: float | None = None
        self._lock = asyncio.Lock()
        self.fetches = 0

    def cached(self, kid: str) -> SigningKey | None:
        return self._keys.get(kid)

    @property
    def held(self) -> bool:
        return bool(self._keys)

    async def key(self, kid: str) -> SigningKey | None:
        """The key named `kid`, fetching the keys again when it is not held or they are old."""
        if kid in self._keys and not self._stale():
            return self._keys[kid]
        await self.refresh()
        return self._keys.get(kid)

    async def refresh(self) -> bool:
        """Fetch the keys unless a fetch was attempted less than `min_refresh_interval` ago;
        whether keys are held afterwards."""
        async with self._lock:
            if self._attempted_at is not None and self._monotonic() - self._attempted_at < self.min_refresh_interval:
                return self.held
            self._attempted_at = self._monotonic()
            self.fetches += 1
            try:
                keys = read_jwks(await self._download())
            except JwksUnavailable as exc:
                log.warning(
                    "the identity provider's signing keys could not be fetched: tokens signed by a key not held are refused",
                    extra={"jwks_host": self.host, "reason": str(exc), "keys_held": len(self._keys)},
                )
                return self.held
            added = sorted(set(keys) - set(self._keys))
            self._keys, self._fetched_at = keys, self._monotonic()
            log.info("identity provider signing keys fetched", extra={"jwks_host": self.host, "key_ids": sorted(keys), "new_key_ids": added})
            return True

    async def ready(self) -> bool:
        """Readiness: keys are held (tried again, within the rate limit, while none are)."""
        return self.held or await self.refresh()

    def _stale(self) -> bool:
        return self._fetched_at is None or self._monotonic() - self._fetched_at > self.max_age

    async def _download(self) -> Any:
        try:
            # httpx's timeout bounds each read; this bounds the whole download (a slow drip).
            async with asyncio.timeout(self.timeout), httpx.AsyncClient(
                timeout=self.timeout, follow_redirects=False, transport=self._transport
            ) as http:
                async with http.stream("GET", self.url, headers={"Accept": "application/json"}) as response:
                    if response.status_code != 200:
                        raise JwksUnavailable(f"HTTP {response.status_code}")
                    body = bytearray()
                    async for chunk in response.aiter_bytes():
                        body += chunk
                        if len(body) > self.max_bytes:
                            raise JwksUnavailable(f"larger than {self.max_bytes} bytes")
        except TimeoutError:
            raise JwksUnavailable(f"no answer within {self.timeout} seconds") from None
        except httpx.HTTPError as exc:
            raise JwksUnavailable(type(exc).__name__) from None
        try:
            return json.loads(body)
        except (ValueError, RecursionError):
            raise JwksUnavailable("not JSON") from None
