"""An OIDC issuer's key set on loopback, for production's staff tokens (RS256, checked
against the key set, the issuer and the audience; api/tokens.py)."""

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from domain.actors import Role
from tests.api_people import STAFF_IDS

ISSUER, AUDIENCE = "https://id.clinic.test/", "journeys-api"


class KeyServer:
    """An issuer's key set endpoint on loopback that counts its requests, and can rotate its
    keys or fail."""

    def __init__(self) -> None:
        self.keys: dict[str, rsa.RSAPrivateKey] = {}
        self.failing = False
        self.requests = 0
        server = self

        class Keys(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                server.requests += 1
                if server.failing:
                    self.send_response(503)
                    self.end_headers()
                    return
                published = [
                    {**json.loads(RSAAlgorithm.to_jwk(k.public_key())), "kid": kid, "use": "sig"}
                    for kid, k in server.keys.items()
                ]
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.end_headers()
                self.wfile.write(json.dumps({"keys": published}).encode())

            def log_message(self, *args: object) -> None:
                pass

        self.http = HTTPServer(("127.0.0.1", 0), Keys)
        self.url = f"http://127.0.0.1:{self.http.server_address[1]}/jwks.json"

    def rotate(self, kid: str) -> rsa.RSAPrivateKey:
        self.keys[kid] = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        return self.keys[kid]

    @property
    def settings(self) -> dict[str, Any]:
        """The settings that have the API take this issuer's tokens."""
        return {"oidc_jwks_url": self.url, "oidc_issuer": ISSUER, "oidc_audience": AUDIENCE}

    def staff(self, role: Role) -> dict[str, str]:
        """The Authorization header of a member of staff with `role`, signed by the issuer."""
        kid = next(iter(self.keys), None) or "k1"
        key = self.keys.get(kid) or self.rotate(kid)
        now = int(time.time())
        claims = {
            "sub": STAFF_IDS[role],
            "name": role.value,
            "role": role.value,
            "iss": ISSUER,
            "aud": AUDIENCE,
            "iat": now,
            "exp": now + 600,
        }
        token = jwt.encode(claims, key, algorithm="RS256", headers={"kid": kid})
        return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def key_server() -> Iterator[KeyServer]:
    server = KeyServer()
    thread = threading.Thread(target=server.http.serve_forever, daemon=True)
    thread.start()
    yield server
    server.http.shutdown()
