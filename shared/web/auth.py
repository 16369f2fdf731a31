"""Bearer tokens for the HTTP APIs: JWTs signed by the company's identity provider, validated by
each service. Two ways, chosen by `AUTH_JWT_ALGORITHMS`:
- asymmetric (RS256, ES256, ...): the provider signs with its private key, the services check
  with the public keys it publishes at `AUTH_JWKS_URL` (shared/web/jwks.py);
- HS256 with the shared `AUTH_JWT_SECRET` (one machine, `./alumni token`).
A token's `alg` header must be one of the configured algorithms and its key must be of that
algorithm's kind: `none` is never accepted, nor an HS256 token made with a public key.

Scopes (the `scope` claim, space-separated):
- `alumni:read`, `alumni:write`, `alumni:admin`: programme managers and internal services (each
  includes the ones before it);
- `referrals:read`, `referrals:write`, `referrals:admin`: recruiters and the referral programme's
  managers (nesting the same way);
- `events:read`, `events:write`, `events:admin`: the same for hosted events (engagement);
- `alumni:self`: an alumnus acting for themselves; the token's subject is `alumnus:<id>` and it
  opens only that alumnus's own endpoints (and the directory).

No token, or one that is not valid, is 401; a valid token without the scope is 403.
"""

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

import jwt
from fastapi import Depends, HTTPException, Request

from shared.web.jwks import MAX_KID_LENGTH, JwksKeys

log = logging.getLogger(__name__)

SYMMETRIC = frozenset({"HS256"})
ASYMMETRIC = frozenset({"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512"})
MAX_TOKEN_LENGTH = 8192

ALUMNUS_PREFIX = "alumnus:"
SELF = "alumni:self"
# Scopes nest: who may administer may write, who may write may read.
IMPLIED = {
    "alumni:admin": {"alumni:write", "alumni:read"},
    "alumni:write": {"alumni:read"},
    "referrals:admin": {"referrals:write", "referrals:read"},
    "referrals:write": {"referrals:read"},
    "events:admin": {"events:write", "events:read"},
    "events:write": {"events:read"},
}


def effective_scopes(granted: set[str]) -> frozenset[str]:
    return frozenset(granted.union(*(IMPLIED.get(scope, set()) for scope in granted)))


@dataclass(frozen=True)
class Principal:
    subject: str
    scopes: frozenset[str]

    @property
    def alumnus_id(self) -> str | None:
        if SELF in self.scopes and self.subject.startswith(ALUMNUS_PREFIX):
            return self.subject.removeprefix(ALUMNUS_PREFIX)
        return None


class TokenVerifier:
    def __init__(
        self,
        secret: str = "",
        *,
        issuer: str = "",
        audience: str = "",
        max_lifetime_seconds: int = 12 * 3600,
        algorithms: tuple[str, ...] = ("HS256",),
        keys: JwksKeys | None = None,
    ) -> None:
        self.secret = secret
        self.issuer = issuer
        self.audience = audience
        self.max_lifetime = max_lifetime_seconds
        self.algorithms = frozenset(algorithms) & (SYMMETRIC | ASYMMETRIC)  # never `none`
        self.keys = keys

    async def authenticate(self, token: str) -> Principal:
        """`verify`, fetching the provider's keys again when the token names one not held."""
        alg, kid = self._header(token)
        if alg in ASYMMETRIC and self.keys is not None:
            await self.keys.key(kid)
        return self.verify(token)

    def verify(self, token: str) -> Principal:
        """The token's principal, checked with the keys held."""
        alg, kid = self._header(token)
        try:
            claims = jwt.decode(
                token,
                self._key(alg, kid),
                algorithms=[alg],
                issuer=self.issuer or None,
                audience=self.audience or None,
                options={"require": ["exp", "sub"], "verify_aud": bool(self.audience)},
            )
        except jwt.ExpiredSignatureError:
            raise _unauthorized("the token has expired") from None
        except jwt.InvalidTokenError as exc:
            raise _invalid(exc) from None
        issued = claims.get("iat", time.time())
        if not isinstance(issued, int | float) or claims["exp"] - min(issued, time.time()) > self.max_lifetime:
            raise _unauthorized(f"the token lives longer than the {self.max_lifetime} seconds this service accepts")
        return Principal(str(claims["sub"]), effective_scopes(set(str(claims.get("scope", "")).split())))

    def _header(self, token: str) -> tuple[str, str]:
        if len(token) > MAX_TOKEN_LENGTH:
            raise _unauthorized(f"the token is longer than {MAX_TOKEN_LENGTH} characters")
        try:
            header = jwt.get_unverified_header(token)
        except jwt.InvalidTokenError as exc:
            raise _invalid(exc) from None
        alg, kid = header.get("alg"), header.get("kid", "")
        if not isinstance(alg, str) or alg not in self.algorithms:
            raise _unauthorized("the token is not valid (InvalidAlgorithmError)")
        if alg in ASYMMETRIC and not (isinstance(kid, str) and 0 < len(kid) <= MAX_KID_LENGTH):
            raise _unauthorized("the token names no signing key (kid)")
        return alg, kid if isinstance(kid, str) else ""

    def _key(self, alg: str, kid: str) -> object:
        if alg in SYMMETRIC:
            return self.secret
        key = self.keys.cached(kid) if self.keys is not None else None
        if key is None:
            raise _unauthorized("the token is signed by a key this service does not know")
        if not key.signs(alg):
            raise _unauthorized("the token's algorithm does not fit its key")
        return key.key

    def issue(self, subject: str, scopes: list[str], ttl_seconds: int = 3600) -> str:
        """An HS256 token as the identity provider would issue it (for tests, demos and `./alumni token`)."""
        now = int(time.time())
        claims = {"sub": subject, "scope": " ".join(scopes), "iat": now, "exp": now + ttl_seconds}
        if self.issuer:
            claims["iss"] = self.issuer
        if self.audience:
            claims["aud"] = self.audience
        return jwt.encode(claims, self.secret, algorithm="HS256")


def _invalid(exc: jwt.InvalidTokenError) -> HTTPException:
    # The library's words may describe the token: the caller learns only which check failed.
    log.info("bearer token refused", extra={"error_class": type(exc).__name__})
    return _unauthorized(f"the token is not valid ({type(exc).__name__})")


def _unauthorized(message: str) -> HTTPException:
    return HTTPException(401, message, headers={"WWW-Authenticate": 'Bearer error="invalid_token"'})


async def authenticated(request: Request) -> Principal:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise HTTPException(401, "a bearer token is required", headers={"WWW-Authenticate": "Bearer"})
    verifier: TokenVerifier = request.app.state.token_verifier
    return await verifier.authenticate(token.strip())


def requires(*scopes: str) -> Callable[..., Principal]:
    """A dependency: the caller holds one of `scopes`."""

    def check(principal: Principal = Depends(authenticated)) -> Principal:
        if not principal.scopes & set(scopes):
            raise HTTPException(403, f"this needs one of the scopes: {', '.join(scopes)}")
        return principal

    return check


def requires_for_alumnus(*scopes: str) -> Callable[..., Principal]:
    """A dependency for `/alumni/{alumnus_id}/...`: one of `scopes`, or that alumnus's own token."""

    def check(alumnus_id: str, principal: Principal = Depends(authenticated)) -> Principal:
        if principal.scopes & set(scopes) or principal.alumnus_id == alumnus_id:
            return principal
        raise HTTPException(403, f"this needs one of the scopes {', '.join(scopes)}, or the alumnus's own token")

    return check
