"""Bearer tokens for the HTTP APIs: JWTs signed by the company's identity provider (HS256 with
`AUTH_JWT_SECRET`), validated by each service.

Scopes (the `scope` claim, space-separated):
- `alumni:read`, `alumni:write`, `alumni:admin`: programme managers and internal services (each
  includes the ones before it);
- `referrals:read`, `referrals:write`, `referrals:admin`: recruiters and the referral programme's
  managers (nesting the same way);
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

log = logging.getLogger(__name__)

ALUMNUS_PREFIX = "alumnus:"
SELF = "alumni:self"
# Scopes nest: who may administer may write, who may write may read.
IMPLIED = {
    "alumni:admin": {"alumni:write", "alumni:read"},
    "alumni:write": {"alumni:read"},
    "referrals:admin": {"referrals:write", "referrals:read"},
    "referrals:write": {"referrals:read"},
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
    def __init__(self, secret: str, *, issuer: str = "", audience: str = "", max_lifetime_seconds: int = 12 * 3600) -> None:
        self.secret = secret
        self.issuer = issuer
        self.audience = audience
        self.max_lifetime = max_lifetime_seconds

    def verify(self, token: str) -> Principal:
        try:
            claims = jwt.decode(
                token,
                self.secret,
                algorithms=["HS256"],
                issuer=self.issuer or None,
                audience=self.audience or None,
                options={"require": ["exp", "sub"], "verify_aud": bool(self.audience)},
            )
        except jwt.ExpiredSignatureError:
            raise _unauthorized("the token has expired") from None
        except jwt.InvalidTokenError as exc:
            # The library's words may describe the token: the caller learns only which check failed.
            log.info("bearer token refused", extra={"error_class": type(exc).__name__})
            raise _unauthorized(f"the token is not valid ({type(exc).__name__})") from None
        issued = claims.get("iat", time.time())
        if not isinstance(issued, int | float) or claims["exp"] - min(issued, time.time()) > self.max_lifetime:
            raise _unauthorized(f"the token lives longer than the {self.max_lifetime} seconds this service accepts")
        return Principal(str(claims["sub"]), effective_scopes(set(str(claims.get("scope", "")).split())))

    def issue(self, subject: str, scopes: list[str], ttl_seconds: int = 3600) -> str:
        """A token as the identity provider would issue it (for tests, demos and `./alumni token`)."""
        now = int(time.time())
        claims = {"sub": subject, "scope": " ".join(scopes), "iat": now, "exp": now + ttl_seconds}
        if self.issuer:
            claims["iss"] = self.issuer
        if self.audience:
            claims["aud"] = self.audience
        return jwt.encode(claims, self.secret, algorithm="HS256")


def _unauthorized(message: str) -> HTTPException:
    return HTTPException(401, message, headers={"WWW-Authenticate": 'Bearer error="invalid_token"'})


def authenticated(request: Request) -> Principal:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise HTTPException(401, "a bearer token is required", headers={"WWW-Authenticate": "Bearer"})
    verifier: TokenVerifier = request.app.state.token_verifier
    return verifier.verify(token.strip())


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
