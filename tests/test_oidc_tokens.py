"""Production tokens: verified against an OIDC issuer's key set, served here on loopback."""

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from api.tokens import TokenError, TokenVerifier
from domain.actors import Role
from settings import Settings

ISSUER, AUDIENCE = "https://id.clinic.test/", "journeys-api"


@pytest.fixture
def issuer() -> Iterator[tuple[str, rsa.RSAPrivateKey]]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwk = json.loads(RSAAlgorithm.to_jwk(key.public_key()))
    body = json.dumps({"keys": [{**jwk, "kid": "k1", "use": "sig", "alg": "RS256"}]}).encode()

    class Keys(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Keys)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/jwks.json", key
    server.shutdown()


def _token(key: rsa.RSAPrivateKey, **claims: object) -> str:
    now = int(time.time())
    payload = {
        "sub": "u-77",
        "name": "Dr. Vidal",
        "role": "specialist",
        "iss": ISSUER,
        "aud": AUDIENCE,
        "iat": now,
        "exp": now + 600,
        **claims,
    }
    return jwt.encode(payload, key, algorithm="RS256", headers={"kid": "k1"})


def test_tokens_from_the_issuer_are_accepted_and_others_refused(
    issuer: tuple[str, rsa.RSAPrivateKey],
) -> None:
    url, key = issuer
    verifier = TokenVerifier(
        Settings(oidc_jwks_url=url, oidc_issuer=ISSUER, oidc_audience=AUDIENCE)
    )
    principal = verifier.verify(_token(key))
    assert principal.actor.id == "u-77" and principal.actor.role is Role.SPECIALIST

    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    for bad in (
        _token(stranger),  # signed by someone else with our key id
        _token(key, aud="another-api"),
        _token(key, iss="https://elsewhere.test/"),
        _token(key, exp=int(time.time()) - 10),
        _token(key, role="janitor"),
    ):
        with pytest.raises(TokenError):
            verifier.verify(bad)
    # A development token is no good once production verifies against the issuer.
    from api.tokens import mint_staff_token

    with pytest.raises(TokenError):
        verifier.verify(mint_staff_token(Settings(), subject="x", name="x", role=Role.COORDINATOR))
