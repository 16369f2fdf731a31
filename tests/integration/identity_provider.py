"""A real HTTP server on loopback that publishes signing keys as an identity provider does (a
JWKS at `/.well-known/jwks.json`), and signs tokens with their private halves."""

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

JWKS_PATH = "/.well-known/jwks.json"


class IdentityProvider:
    def __init__(self) -> None:
        self.private_keys: dict[str, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey] = {}
        self.published: list[str] = []  # the key ids in the JWKS, newest first
        self.requests = 0
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                provider.requests += 1
                if self.path != JWKS_PATH:
                    self.send_response(404)
                    self.end_headers()
                    return
                data = json.dumps({"keys": [provider.public_jwk(kid) for kid in provider.published]}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def jwks_url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}{JWKS_PATH}"

    def rotate(self, kid: str, kind: str = "RSA") -> str:
        """A new key, published first; the older ones stay published."""
        self.private_keys[kid] = rsa.generate_private_key(public_exponent=65537, key_size=2048) if kind == "RSA" else ec.generate_private_key(ec.SECP256R1())
        self.published.insert(0, kid)
        return kid

    def public_jwk(self, kid: str) -> dict:
        private = self.private_keys[kid]
        algorithm = RSAAlgorithm if isinstance(private, rsa.RSAPrivateKey) else ECAlgorithm
        return json.loads(algorithm.to_jwk(private.public_key())) | {"kid": kid, "use": "sig"}

    def token(self, kid: str, subject: str, scopes: list[str], *, signed_by=None, ttl: int = 600) -> str:
        private = signed_by or self.private_keys[kid]
        alg = "RS256" if isinstance(private, rsa.RSAPrivateKey) else "ES256"
        now = int(time.time())
        claims = {"sub": subject, "scope": " ".join(scopes), "iat": now, "exp": now + ttl}
        return jwt.encode(claims, private, algorithm=alg, headers={"kid": kid})

    def start(self) -> "IdentityProvider":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
