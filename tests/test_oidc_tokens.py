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

from api.tokens import IssuerKeys, TokenError, TokenVerifier
from domain.actors import Role
from settings import Settings
from tests.oidc_issuer import KeyServer

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


def _signed(key: rsa.RSAPrivateKey, kid: str) -> str:
    return jwt.encode(
        jwt.decode(_token(key), options={"verify_signature": False}),
        key,
        algorithm="RS256",
        headers={"kid": kid},
    )


def test_made_up_key_ids_do_not_make_the_api_fetch_the_key_set_again(
    key_server: KeyServer,
) -> None:
    key = key_server.rotate("k1")
    verifier = TokenVerifier(
        Settings(oidc_jwks_url=key_server.url, oidc_issuer=ISSUER, oidc_audience=AUDIENCE)
    )
    assert verifier.verify(_signed(key, "k1")).actor.id == "u-77"
    for n in range(20):
        with pytest.raises(TokenError, match="not signed by a key of the issuer's"):
            verifier.verify(_signed(key, f"made-up-{n}"))
    assert key_server.requests == 1


def test_a_failing_provider_is_not_asked_again_for_each_token(key_server: KeyServer) -> None:
    key = key_server.rotate("k1")
    key_server.failing = True
    verifier = TokenVerifier(
        Settings(oidc_jwks_url=key_server.url, oidc_issuer=ISSUER, oidc_audience=AUDIENCE)
    )
    for n in range(20):
        with pytest.raises(TokenError):
            verifier.verify(_signed(key, "k1" if n % 2 else f"made-up-{n}"))
    assert key_server.requests == 1


def test_a_rotated_key_is_fetched_once_the_pause_has_passed(key_server: KeyServer) -> None:
    old = key_server.rotate("k1")
    now = [1000.0]
    keys = IssuerKeys(key_server.url, lifespan=300, refetch=30, clock=lambda: now[0])
    assert keys.key_for(_signed(old, "k1")).key_id == "k1"
    new = key_server.rotate("k2")
    # The provider publishes the new key; a token under it just after the last fetch waits.
    now[0] += 5
    with pytest.raises(TokenError):
        keys.key_for(_signed(new, "k2"))
    assert key_server.requests == 1
    now[0] += 30
    assert keys.key_for(_signed(new, "k2")).key_id == "k2"
    assert keys.key_for(_signed(old, "k1")).key_id == "k1"
    assert key_server.requests == 2
    # Past the key set's lifespan it is fetched again, even for a key it has.
    now[0] += 300
    del key_server.keys["k1"]
    with pytest.raises(TokenError):
        keys.key_for(_signed(old, "k1"))
    assert key_server.requests == 3


def test_production_takes_no_hs256_token_even_without_a_key_set() -> None:
    """Production refuses to start without the issuer (settings.production_problems); were
    it started anyway, a token signed with the staff token secret would still be refused."""
    from api.tokens import mint_staff_token

    development = Settings(environment="development")
    token = mint_staff_token(development, subject="x", name="x", role=Role.COORDINATOR)
    assert TokenVerifier(development).verify(token).actor.id == "x"
    with pytest.raises(TokenError):
        TokenVerifier(development.model_copy(update={"environment": "production"})).verify(token)
