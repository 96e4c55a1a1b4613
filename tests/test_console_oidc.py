"""Production sign-in to the console through a real OpenID Connect provider on loopback.

The provider is oidc-provider-mock (Authlib's server under Flask): discovery, an authorization
page, a token endpoint, ID tokens signed with its own RSA key. It does not check PKCE itself, so
the tests put a check in front of it that does what a provider must (RFC 7636): remember the
S256 challenge each code was issued for, and refuse the code unless the token request carries
the verifier that hashes to it.
"""

import base64
import hashlib
import io
import json
import secrets
import threading
from collections.abc import AsyncIterator, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import asyncpg
import pytest
import werkzeug.serving
from oidc_provider_mock import User
from oidc_provider_mock import app as provider_app
from playwright.async_api import Browser, Page, expect
from pydantic import SecretStr

from api.console.oidc import (
    DirectoryRefused,
    RoleRefused,
    directory_principal,
    provider_identity,
)
from db.staff import StaffMember, StaffRepository
from db.staff_directory import Acting, StaffDirectory
from domain.actors import Role
from settings import PRODUCTION_SECRETS, Settings
from tests.browser import Screenshot, ServedApp, assert_accessible
from tests.helpers import PRODUCTION_READY
from tests.tls_certs import CertificateAuthority

CLIENT_ID = "journeys-console"
USERS = [
    User(
        sub="idp-omar",
        claims={"name": "Dr. Omar Haddad", "role": "reviewer", "email": "omar@clinic.test"},
    ),
    User(
        sub="idp-sofia",
        claims={"name": "Sofía Navarro", "role": ["offline_access", "coordinator"]},
    ),
    User(sub="idp-patient", claims={"name": "A Patient", "role": "patient"}),
    # A staff role at the provider, but not in the staff directory.
    User(sub="idp-stranger", claims={"name": "Sam Stranger", "role": "reviewer"}),
    # The provider and the directory give different roles.
    User(sub="idp-ines", claims={"name": "Ines Weber", "role": "coordinator"}),
    # The provider's subject is not the staff id: the directory links the two.
    User(sub="idp-7c1e", claims={"name": "C. Ruiz", "role": "coordinator"}),
]
# The staff directory of the organisation: (staff id, name, role). Sign-in goes by it.
DIRECTORY = [
    ("idp-omar", "Dr. Omar Haddad", "reviewer"),
    ("idp-sofia", "Sofía Navarro", "coordinator"),
    ("idp-ines", "Ines Weber", "auditor"),
]


@dataclass
class PkceCheck:
    """WSGI middleware in front of the provider that enforces S256 PKCE on the code."""

    app: Any
    challenges: dict[str, str] = field(default_factory=dict)
    verified: list[str] = field(default_factory=list)

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        path, method = environ["PATH_INFO"], environ["REQUEST_METHOD"]
        if path == "/oauth2/authorize" and method == "POST":
            query = parse_qs(environ.get("QUERY_STRING", ""))
            challenge = query.get("code_challenge", [""])[0]
            s256 = query.get("code_challenge_method") == ["S256"]

            def note_code(status: str, headers: list[tuple[str, str]], *args: Any) -> Any:
                location = dict(headers).get("Location", "")
                for code in parse_qs(urlsplit(location).query).get("code", []):
                    if challenge and s256:
                        self.challenges[code] = challenge
                return start_response(status, headers, *args)

            return self.app(environ, note_code)  # type: ignore[no-any-return]
        if path == "/oauth2/token" and method == "POST":
            body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
            form = parse_qs(body.decode())
            code = form.get("code", [""])[0]
            verifier = form.get("code_verifier", [""])[0]
            expected = self.challenges.pop(code, None)
            hashed = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
            if expected is None or hashed.rstrip(b"=").decode() != expected:
                start_response("400 Bad Request", [("Content-Type", "application/json")])
                return [b'{"error": "invalid_grant", "error_description": "PKCE failed"}']
            self.verified.append(code)
            environ["wsgi.input"] = io.BytesIO(body)
        return self.app(environ, start_response)  # type: ignore[no-any-return]


@dataclass(frozen=True)
class Provider:
    issuer: str
    pkce: PkceCheck


@pytest.fixture
def provider() -> Iterator[Provider]:
    pkce = PkceCheck(provider_app(user_claims=USERS, require_nonce=True))
    server = werkzeug.serving.make_server("127.0.0.1", 0, pkce, threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    yield Provider(issuer=f"http://127.0.0.1:{server.server_port}", pkce=pkce)
    server.shutdown()
    thread.join(10)


@pytest.fixture
async def directory(pool: asyncpg.Pool) -> None:
    async with pool.acquire() as conn:
        for staff_id, name, role in DIRECTORY:
            await StaffRepository(conn).add(
                staff_id=staff_id, full_name=name, email=f"{staff_id}@clinic.test", role=role
            )


@pytest.fixture
async def page(browser: Browser) -> AsyncIterator[Page]:
    """A page of its own, trusting the test CA's certificate the console is served with."""
    context = await browser.new_context(ignore_https_errors=True)
    opened = await context.new_page()
    yield opened
    await context.close()


@pytest.fixture
def production_console(
    settings: Settings, provider: Provider, serve_app: Any, directory: None, tmp_path: Path
) -> ServedApp:
    """The app in production over HTTPS, with strong secrets and the provider above as its
    OIDC issuer, and the staff directory above."""
    strong = {name: SecretStr(secrets.token_urlsafe(48)) for name in PRODUCTION_SECRETS}
    site = CertificateAuthority(tmp_path / "tls").issue_server("console")
    served: ServedApp = serve_app(
        settings.model_copy(
            update=PRODUCTION_READY
            | strong
            | {
                "environment": "production",
                "temporal_tls": True,
                "oidc_jwks_url": f"{provider.issuer}/jwks",
                "oidc_issuer": provider.issuer,
                "oidc_client_id": CLIENT_ID,
                "oidc_client_secret": SecretStr("console-client-secret"),
                "oidc_role_claim": "role",
                "oidc_provider_name": "Example Clinic",
            }
        ),
        tls=site,
    )
    return served


async def _audit(url: str, action: str) -> list[tuple[str, str, str]]:
    conn = await asyncpg.connect(url)
    try:
        rows = await conn.fetch(
            "SELECT actor_id, actor_role, detail::text FROM audit_log WHERE action = $1 "
            "ORDER BY seq",
            action,
        )
    finally:
        await conn.close()
    return [tuple(row) for row in rows]


async def _sign_in_at_provider(page: Page, console: ServedApp, subject: str) -> None:
    await page.goto(f"{console.url}/staff/sign-in")
    await page.get_by_role("button", name="Sign in with Example Clinic").click()
    # The provider's own page: one button per user it knows.
    await page.get_by_role("button", name=subject, exact=True).click()


async def test_staff_sign_in_at_the_provider_with_pkce(
    page: Page, production_console: ServedApp, provider: Provider, screenshot: Screenshot
) -> None:
    await page.goto(f"{production_console.url}/staff/sign-in")
    await expect(page.get_by_role("button", name="Sign in with Example Clinic")).to_be_visible()
    # Production lists no demo staff, and has no route to sign in as one.
    await expect(page.get_by_role("heading", name="Demo staff")).to_have_count(0)
    await screenshot(page, "production-sign-in")
    await assert_accessible(page)
    refused = await page.request.post(f"{production_console.url}/staff/sign-in/demo")
    assert refused.status == 404

    await page.get_by_role("button", name="Sign in with Example Clinic").click()
    await page.wait_for_url(f"{provider.issuer}/oauth2/authorize?*")
    query = parse_qs(urlsplit(page.url).query)
    assert query["code_challenge_method"] == ["S256"] and query["code_challenge"]
    assert query["client_id"] == [CLIENT_ID]
    assert query["redirect_uri"] == [f"{production_console.url}/staff/auth/callback"]
    await screenshot(page, "provider")
    await page.get_by_role("button", name="idp-omar", exact=True).click()

    await page.wait_for_url(f"{production_console.url}/staff/")
    await expect(page.get_by_role("banner")).to_contain_text(
        "Signed in as Dr. Omar Haddad (Medical reviewer)"
    )
    await screenshot(page, "signed-in")
    assert len(provider.pkce.verified) == 1, "the code was exchanged with its PKCE verifier"

    cookies = [c for c in await page.context.cookies() if c["name"] == "journeys_console"]
    assert {c["path"] for c in cookies} == {"/staff", "/codec", "/temporal"}
    for cookie in cookies:
        assert cookie["secure"] and cookie["httpOnly"] and cookie["sameSite"] == "Lax"
    url = production_console.settings.require_database_url()
    assert await _audit(url, "console.sign_in") == [("idp-omar", "reviewer", '{"method": "oidc"}')]


async def test_a_staff_role_in_a_list_of_roles_counts(
    page: Page, production_console: ServedApp
) -> None:
    await _sign_in_at_provider(page, production_console, "idp-sofia")
    await page.wait_for_url(f"{production_console.url}/staff/")
    await expect(page.get_by_role("banner")).to_contain_text(
        "Signed in as Sofía Navarro (Coordinator)"
    )


async def test_a_provider_user_without_a_staff_role_is_refused(
    page: Page, production_console: ServedApp, screenshot: Screenshot
) -> None:
    await _sign_in_at_provider(page, production_console, "idp-patient")
    await page.wait_for_url(f"{production_console.url}/staff/auth/callback?*")
    await expect(page.get_by_role("heading", level=1)).to_have_text(
        "Your account has no staff role"
    )
    await expect(page.get_by_role("alert")).to_contain_text("Nothing was changed.")
    await screenshot(page, "role-refused")
    await assert_accessible(page)

    await page.goto(f"{production_console.url}/staff/")
    assert page.url == f"{production_console.url}/staff/sign-in"
    url = production_console.settings.require_database_url()
    assert await _audit(url, "console.sign_in") == []
    assert await _audit(url, "console.sign_in_refused") == [
        (
            "idp-patient",
            "none",
            '{"method": "oidc", "reason": "role", "status": 403, "role_claim": "patient"}',
        )
    ]


async def test_a_provider_user_the_directory_does_not_have_active_is_refused(
    page: Page, production_console: ServedApp, pool: asyncpg.Pool, screenshot: Screenshot
) -> None:
    await pool.execute("UPDATE staff SET active = false WHERE staff_id = 'idp-omar'")
    for subject in ("idp-stranger", "idp-omar"):
        await _sign_in_at_provider(page, production_console, subject)
        await page.wait_for_url(f"{production_console.url}/staff/auth/callback?*")
        await expect(page.get_by_role("heading", level=1)).to_have_text(
            "This person cannot sign in"
        )
        await expect(page.get_by_role("alert")).to_contain_text("Only active staff can sign in.")
    await screenshot(page, "not-in-directory")
    await page.goto(f"{production_console.url}/staff/")
    assert page.url == f"{production_console.url}/staff/sign-in"
    url = production_console.settings.require_database_url()
    assert await _audit(url, "console.sign_in") == []
    refused = await _audit(url, "console.sign_in_refused")
    assert [(actor, json.loads(detail)["reason"]) for actor, _, detail in refused] == [
        ("idp-stranger", "not_active_staff"),
        ("idp-omar", "not_active_staff"),
    ]
    assert await pool.fetchval("SELECT count(*) FROM console_sessions") == 0


async def test_a_role_the_directory_does_not_give_is_refused(
    page: Page, production_console: ServedApp, pool: asyncpg.Pool, screenshot: Screenshot
) -> None:
    await _sign_in_at_provider(page, production_console, "idp-ines")
    await page.wait_for_url(f"{production_console.url}/staff/auth/callback?*")
    await expect(page.get_by_role("heading", level=1)).to_have_text("Your roles do not agree")
    await expect(page.get_by_role("alert")).to_contain_text("Nothing was changed.")
    await screenshot(page, "roles-disagree")
    await assert_accessible(page)
    url = production_console.settings.require_database_url()
    [(actor, role, detail)] = await _audit(url, "console.sign_in_refused")
    assert (actor, role) == ("idp-ines", "none")
    assert json.loads(detail) == {
        "reason": "role_mismatch",
        "method": "oidc",
        "role_claim": "coordinator",
        "directory_role": "auditor",
        "status": 403,
    }
    assert await pool.fetchval("SELECT count(*) FROM console_sessions") == 0


async def test_a_callback_nobody_started_is_refused(
    page: Page, production_console: ServedApp
) -> None:
    answer = await page.goto(
        f"{production_console.url}/staff/auth/callback?code=stolen&state=guessed"
    )
    assert answer is not None and answer.status == 400
    await expect(page.get_by_role("heading", level=1)).to_have_text("Sign-in did not complete")
    await page.goto(f"{production_console.url}/staff/")
    assert page.url == f"{production_console.url}/staff/sign-in"


async def test_a_case_link_opened_signed_out_opens_after_the_provider(
    page: Page, production_console: ServedApp, provider: Provider
) -> None:
    """The page asked for is kept in the console's session across the provider's round-trip,
    not in anything the provider or the visitor sends back."""
    wanted = f"{production_console.url}/staff/journeys/0b7f6a52-5b1e-4a8e-9a55-2f4f1c0c2f11"
    await page.goto(wanted)
    await page.wait_for_url(f"{production_console.url}/staff/sign-in?next=*")
    await page.get_by_role("button", name="Sign in with Example Clinic").click()
    await page.wait_for_url(f"{provider.issuer}/oauth2/authorize?*")
    assert "0b7f6a52" not in page.url, "the wanted page does not travel to the provider"
    await page.get_by_role("button", name="idp-omar", exact=True).click()
    await page.wait_for_url(wanted)
    await expect(page.get_by_role("banner")).to_contain_text("Signed in as Dr. Omar Haddad")

    # A hostile target is dropped: the worklist, after the provider as before.
    await page.get_by_role("button", name="Sign out").click()
    await page.goto(f"{production_console.url}/staff/sign-in?next=https://evil.example/staff/")
    await page.get_by_role("button", name="Sign in with Example Clinic").click()
    await page.get_by_role("button", name="idp-omar", exact=True).click()
    await page.wait_for_url(f"{production_console.url}/staff/")
    await expect(page.get_by_role("heading", level=1)).to_have_text("Worklist")


def test_the_directory_decides_who_signs_in_and_in_which_role() -> None:
    """Without servers: the provider's claims against the directory's record."""
    claims = {"sub": "idp-lena", "name": "L", "role": ["offline_access", "specialist", "auditor"]}
    identity = provider_identity(claims, "role")
    assert identity.roles == (Role.SPECIALIST, Role.AUDITOR)
    for role in ("specialist", "auditor"):
        member = StaffMember(staff_id="idp-lena", full_name="Dr. Lena Roth", role=role)
        principal = directory_principal(identity, member)
        assert (principal.actor.role.value, principal.name) == (role, "Dr. Lena Roth")
    with pytest.raises(DirectoryRefused) as refused:
        directory_principal(identity, StaffMember("idp-lena", "Dr. Lena Roth", "coordinator"))
    assert (refused.value.reason, refused.value.directory_role) == ("role_mismatch", "coordinator")
    with pytest.raises(DirectoryRefused) as refused:
        directory_principal(identity, None)
    assert refused.value.reason == "not_active_staff"
    with pytest.raises(RoleRefused):
        provider_identity({"sub": "x", "role": ["offline_access", "patient"]}, "role")


async def test_the_directory_links_a_member_to_the_subject_they_sign_in_with(
    page: Page, production_console: ServedApp, pool: asyncpg.Pool
) -> None:
    settings = production_console.settings
    async with pool.acquire() as conn:
        directory = StaffDirectory(
            conn,
            audit_key=settings.audit_key.get_secret_value().encode(),
            acting=Acting("admin-1", Role.STAFF_ADMIN.value),
        )
        await directory.add(
            {
                "staff_id": "carla.ruiz",
                "full_name": "Carla Ruiz",
                "email": "carla.ruiz@clinic.test",
                "role": "coordinator",
                "languages": "es, en",
                "time_zone": "Europe/Madrid",
                "oidc_subject": "idp-7c1e",
            }
        )
    await _sign_in_at_provider(page, production_console, "idp-7c1e")
    await page.wait_for_url(f"{production_console.url}/staff/")
    # The directory's id, name and role: journeys and the audit log name her as ever.
    await expect(page.get_by_role("banner")).to_contain_text(
        "Signed in as Carla Ruiz (Coordinator)"
    )
    signed_in = await _audit(settings.require_database_url(), "console.sign_in")
    assert signed_in[-1][:2] == ("carla.ruiz", "coordinator")

    # Linked to another subject, that account no longer lets her in.
    await page.context.clear_cookies()
    async with pool.acquire() as conn:
        directory = StaffDirectory(
            conn,
            audit_key=settings.audit_key.get_secret_value().encode(),
            acting=Acting("admin-1", Role.STAFF_ADMIN.value),
        )
        record = await StaffRepository(conn).record(staff_id="carla.ruiz")
        assert record is not None
        await directory.change(
            "carla.ruiz", {**record.form_values(), "oidc_subject": "idp-new-account"}
        )
    await _sign_in_at_provider(page, production_console, "idp-7c1e")
    await expect(page.get_by_role("heading", level=1)).to_have_text("This person cannot sign in")
