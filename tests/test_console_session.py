"""The console's session cookie and its refusals, over HTTP without a browser."""

import html
import re
import secrets
from collections.abc import AsyncIterator

import asyncpg
import httpx
import pytest
from pydantic import SecretStr

from api.app import create_app
from api.console.session import COOKIE_NAME, SessionCodec
from devstack.demo_staff import seed_demo_staff
from settings import PRODUCTION_SECRETS, Settings
from tests.helpers import PRODUCTION_READY


async def _client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            yield http


@pytest.fixture
async def console(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    await seed_demo_staff(settings.require_database_url())
    async for http in _client(settings):
        yield http


def _put_cookie(console: httpx.AsyncClient, value: str) -> None:
    """Replaces the session cookie the client holds (as a browser's owner could), under the
    domain the client files the server's cookies under, so that the server can delete it."""
    console.cookies.clear()
    console.cookies.set(COOKIE_NAME, value, domain="testserver.local", path="/")


def _csrf(page: httpx.Response) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert found, "the page has a form token"
    return found.group(1)


async def _sign_in(console: httpx.AsyncClient, staff_id: str = "demo-reviewer") -> str:
    """Signs in as a demo member of staff; returns the new session's form token."""
    page = await console.get("/staff/sign-in")
    answer = await console.post(
        "/staff/sign-in/demo", data={"csrf_token": _csrf(page), "staff_id": staff_id}
    )
    assert answer.status_code == 303 and answer.headers["location"] == "/staff/"
    return _csrf(await console.get("/staff/"))


async def _audit(pool: asyncpg.Pool, action: str) -> list[tuple[str, str]]:
    rows = await pool.fetch(
        "SELECT actor_id, detail::text FROM audit_log WHERE action = $1 ORDER BY seq", action
    )
    return [(r["actor_id"], r["detail"]) for r in rows]


async def test_the_cookie_is_http_only_same_site_and_scoped_to_the_console(
    console: httpx.AsyncClient,
) -> None:
    page = await console.get("/staff/sign-in")
    cookies = page.headers.get_list("set-cookie")
    paths = {}
    for cookie in cookies:
        assert cookie.startswith(f"{COOKIE_NAME}=")
        attributes = {part.strip().lower() for part in cookie.split(";")[1:]}
        (path,) = [a.removeprefix("path=") for a in attributes if a.startswith("path=")]
        paths[path] = attributes
    # Where the session is read: the console, the codec server, the proxied Temporal UI;
    # and the former `/` scope expired, so that no older cookie is sent beside these.
    assert set(paths) == {"/staff", "/codec", "/temporal", "/"}
    assert "max-age=0" in paths.pop("/")
    for attributes in paths.values():
        assert {"httponly", "samesite=lax"} <= attributes
        # Development serves plain HTTP on loopback; production adds Secure (test_console_oidc).
        assert "secure" not in attributes
        assert not any(a.startswith(("max-age", "expires")) for a in attributes)
    assert page.headers["cache-control"] == "no-store"
    # Pages elsewhere get no console cookie.
    assert "set-cookie" not in (await console.get("/")).headers


async def test_signing_in_gives_a_new_form_token(console: httpx.AsyncClient) -> None:
    before = _csrf(await console.get("/staff/sign-in"))
    after = await _sign_in(console)
    assert after != before


async def test_a_post_without_the_form_token_changes_nothing(
    console: httpx.AsyncClient, pool: asyncpg.Pool
) -> None:
    await console.get("/staff/sign-in")
    refused = await console.post("/staff/sign-in/demo", data={"staff_id": "demo-reviewer"})
    assert refused.status_code == 403
    assert "This form has expired" in refused.text and "Nothing was changed." in refused.text
    assert (await console.get("/staff/")).status_code == 303
    assert await _audit(pool, "console.sign_in") == []
    assert await _audit(pool, "console.csrf_refused") == [
        ("anonymous", '{"reason": "missing", "status": 403}')
    ]


async def test_a_forged_session_is_refused_and_removed(
    console: httpx.AsyncClient, settings: Settings, pool: asyncpg.Pool
) -> None:
    other = SessionCodec(
        "another-secret-" + secrets.token_urlsafe(24), idle_seconds=900, max_seconds=3600
    )
    forged = other.dumps(other.new(staff_id="demo-lead", name="Dr. Marta Gil", role="auditor"))
    for value in (forged, forged[:-3] + "abc", "not-a-session"):
        _put_cookie(console, value)
        refused = await console.get("/staff/")
        assert refused.status_code == 401
        assert "Your sign-in could not be verified" in refused.text
        assert "Signed in as" not in refused.text
        assert f"{COOKIE_NAME}=" in refused.headers["set-cookie"]
        assert "max-age=0" in refused.headers["set-cookie"].lower()
    assert (
        await _audit(pool, "console.session_refused")
        == [("anonymous", '{"reason": "forged", "status": 401}')] * 3
    )
    assert await _audit(pool, "console.sign_in") == []


async def test_a_session_ends_after_its_lifetime_however_active(
    console: httpx.AsyncClient, settings: Settings, pool: asyncpg.Pool
) -> None:
    await _sign_in(console, "demo-specialist")
    codec = SessionCodec.from_settings(settings)
    session = codec.loads(console.cookies.get(COOKIE_NAME, path="/staff") or "")
    assert session is not None and session.signed_in
    session.started_at -= settings.session_max_hours * 3600 + 60
    _put_cookie(console, codec.dumps(session))
    ended = await console.get("/staff/")
    assert ended.status_code == 303
    assert ended.headers["location"] == "/staff/sign-in?ended=lifetime"
    notice = await console.get(ended.headers["location"])
    assert f"{settings.session_max_hours} hours after you signed in" in notice.text
    assert await _audit(pool, "console.session_ended") == [
        ("demo-specialist", '{"reason": "lifetime"}')
    ]


async def test_sign_in_goes_on_to_the_console_page_asked_for(
    console: httpx.AsyncClient,
) -> None:
    wanted = "/staff/journeys/0b7f6a52-5b1e-4a8e-9a55-2f4f1c0c2f11?done=review"
    answer = await console.get(wanted)
    assert answer.status_code == 303
    assert answer.headers["location"] == (
        "/staff/sign-in?next=%2Fstaff%2Fjourneys%2F0b7f6a52-5b1e-4a8e-9a55-2f4f1c0c2f11"
        "%3Fdone%3Dreview"
    )
    page = await console.get(answer.headers["location"])
    assert f'name="next" value="{wanted}"' in page.text
    signed_in = await console.post(
        "/staff/sign-in/demo",
        data={"csrf_token": _csrf(page), "staff_id": "demo-reviewer", "next": wanted},
    )
    assert signed_in.status_code == 303 and signed_in.headers["location"] == wanted
    # Signed in already, the sign-in page sends them straight on.
    again = await console.get("/staff/sign-in", params={"next": wanted})
    assert again.status_code == 303 and again.headers["location"] == wanted


@pytest.mark.parametrize(
    "hostile",
    [
        "https://evil.example/staff/",
        "//evil.example/staff/",
        "/\\evil.example/staff/",
        "/staff/\\evil.example",
        "\\\\evil.example/staff/",
        "javascript:alert(1)",
        "/staff/../api/v1/journeys",
        "/staff/./../x",
        "/api/v1/journeys",
        "/staff/sign-in?next=https://evil.example",
        " /staff/",
        "/staff/\tx",
        "staff/",
        "",
    ],
)
async def test_a_sign_in_target_outside_the_console_goes_to_the_worklist(
    console: httpx.AsyncClient, hostile: str
) -> None:
    page = await console.get("/staff/sign-in", params={"next": hostile})
    assert f'name="next" value="{html.escape(hostile)}"' not in page.text
    signed_in = await console.post(
        "/staff/sign-in/demo",
        data={"csrf_token": _csrf(page), "staff_id": "demo-reviewer", "next": hostile},
    )
    assert signed_in.status_code == 303 and signed_in.headers["location"] == "/staff/"


async def test_only_active_staff_sign_in(console: httpx.AsyncClient, pool: asyncpg.Pool) -> None:
    await pool.execute("UPDATE staff SET active = false WHERE staff_id = 'demo-lead'")
    token = _csrf(await console.get("/staff/sign-in"))
    page = await console.get("/staff/sign-in")
    assert "Dr. Marta Gil" not in page.text and "Dr. Omar Haddad" in page.text
    for staff_id in ("demo-lead", "nobody", ""):
        refused = await console.post(
            "/staff/sign-in/demo", data={"csrf_token": token, "staff_id": staff_id}
        )
        assert refused.status_code == 403
        assert "This person cannot sign in" in refused.text
    assert (await console.get("/staff/")).status_code == 303
    assert [actor for actor, _ in await _audit(pool, "console.sign_in_refused")] == [
        "demo-lead",
        "nobody",
        "anonymous",
    ]


async def test_a_session_is_read_only_by_the_console(
    console: httpx.AsyncClient, settings: Settings
) -> None:
    """The console's session opens no API route: the API takes bearer tokens only."""
    await _sign_in(console)
    assert (await console.get("/api/v1/journeys")).status_code == 401


async def test_production_without_a_provider_says_sign_in_is_not_set_up(
    settings: Settings,
) -> None:
    strong = {name: SecretStr(secrets.token_urlsafe(48)) for name in PRODUCTION_SECRETS}
    production = settings.model_copy(
        update=PRODUCTION_READY | strong | {"environment": "production", "temporal_tls": True}
    )
    async for http in _client(production):
        page = await http.get("/staff/sign-in")
        assert page.status_code == 503
        assert "Sign-in is not set up" in page.text and "Demo staff" not in page.text
        assert "secure" in page.headers.get("set-cookie", "secure").lower()
        assert (await http.post("/staff/sign-in/demo")).status_code == 404
        started = await http.post("/staff/auth/start", data={"csrf_token": "x"})
        assert started.status_code == 403
