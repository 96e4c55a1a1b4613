"""The console's session cookie and its refusals, over HTTP without a browser."""

import hashlib
import html
import json
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx
import pytest
from pydantic import SecretStr

from api.console.session import (
    COOKIE_NAME,
    SessionCodec,
    SessionStore,
    row_ending,
    session_hash,
)
from db.console_sessions import SessionRow
from settings import PRODUCTION_SECRETS, Settings
from tests.app_client import app_client, form_token, sign_in
from tests.helpers import PRODUCTION_READY


def _session_cookie(client: httpx.AsyncClient) -> str:
    """The session cookie the client holds for the console (its copies for the codec server
    and the Temporal UI hold the same)."""
    value = client.cookies.get(COOKIE_NAME, path="/staff")
    assert value, "the client holds a console session cookie"
    return value


def _put_cookie(console: httpx.AsyncClient, value: str) -> None:
    """Replaces the session cookie the client holds (as a browser's owner could), under the
    domain the client files the server's cookies under, so that the server can delete it."""
    console.cookies.clear()
    console.cookies.set(COOKIE_NAME, value, domain="testserver.local", path="/")


async def _sign_in(console: httpx.AsyncClient, staff_id: str = "demo-reviewer") -> str:
    """Signs in as a demo member of staff; returns the new session's form token."""
    await sign_in(console, staff_id)
    return form_token(await console.get("/staff/"))


async def _audit(pool: asyncpg.Pool, action: str) -> list[tuple[str, str]]:
    rows = await pool.fetch(
        "SELECT actor_id, detail::text FROM audit_log WHERE action = $1 ORDER BY seq", action
    )
    return [(r["actor_id"], r["detail"]) for r in rows]


async def _details(pool: asyncpg.Pool, action: str) -> list[tuple[str, dict[str, Any]]]:
    rows = await pool.fetch(
        "SELECT actor_id, detail FROM audit_log WHERE action = $1 ORDER BY seq", action
    )
    return [(r["actor_id"], json.loads(r["detail"])) for r in rows]


async def _sessions(pool: asyncpg.Pool) -> list[tuple[str, str | None]]:
    """Each session the server holds: its member, and why it ended (None while it lasts)."""
    rows = await pool.fetch(
        "SELECT staff_id, ended_reason FROM console_sessions ORDER BY started_at, staff_id"
    )
    return [(r["staff_id"], r["ended_reason"]) for r in rows]


@asynccontextmanager
async def _browser(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """Another browser: a client with cookies of its own, on another replica of the app (the
    same database)."""
    async with app_client(settings) as http:
        yield http


def _session_hash(http: httpx.AsyncClient, settings: Settings) -> bytes:
    """What the server keeps of the id of the session a client's cookie names."""
    cookie = SessionStore.from_settings(settings).codec.loads(_session_cookie(http))
    assert cookie is not None and cookie.session_id is not None
    return session_hash(cookie.session_id)


# A session made older than each limit, `$1` the limit: signed in a minute longer ago than the
# lifetime (and busy until now), or last seen a minute longer ago than the idle timeout.
_AGED = {
    "lifetime": "started_at = now() - make_interval(hours => $1, mins => 1)",
    "idle": "seen_at = now() - make_interval(mins => $1 + 1)",
}


async def _outlive(
    console: httpx.AsyncClient, pool: asyncpg.Pool, settings: Settings, ended: str
) -> tuple[str, str]:
    """A specialist signs in and their session outlives a limit (`ended`, a key of `_AGED`):
    the next page sends them to sign in again, told why. Returns a copy of the session's cookie
    and the text of the sign-in page."""
    await _sign_in(console, "demo-specialist")
    cookie = _session_cookie(console)
    limits = {"lifetime": settings.session_max_hours, "idle": settings.session_idle_minutes}
    await pool.execute(f"UPDATE console_sessions SET {_AGED[ended]}", limits[ended])
    answer = await console.get("/staff/")
    assert answer.status_code == 303
    assert answer.headers["location"] == f"/staff/sign-in?ended={ended}"
    notice = await console.get(answer.headers["location"])
    return cookie, notice.text


async def _reads(
    http: httpx.AsyncClient, settings: Settings, cookie: str | None = None
) -> tuple[int, int, int]:
    """What the session a client holds opens: the worklist, the proxy's question before the
    Temporal UI, and the codec server as the UI calls it. With `cookie` (a copy of a session's
    cookie), each request sends it, whatever the answer before did with the client's."""

    def send_copy() -> None:
        if cookie is not None:
            _put_cookie(http, cookie)

    send_copy()
    page = await http.get("/staff/")
    send_copy()
    access = await http.get("/staff/temporal-ui-access")
    send_copy()
    decode = await http.post(
        "/codec/decode",
        json={"payloads": []},
        headers={"Origin": settings.ui_origin, "X-Namespace": settings.temporal_namespace},
    )
    return page.status_code, access.status_code, decode.status_code


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
    before = form_token(await console.get("/staff/sign-in"))
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
    other = SessionCodec("another-secret-" + secrets.token_urlsafe(24), max_seconds=3600)
    forged = other.dumps(other.new(session_id=secrets.token_urlsafe(32)))
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
    cookie, notice = await _outlive(console, pool, settings, "lifetime")
    assert f"{settings.session_max_hours} hours after you signed in" in notice
    # The answer removed the browser's cookie.
    assert (await console.get("/staff/")).headers["location"] == "/staff/sign-in"
    assert await _audit(pool, "console.session_ended") == [
        ("demo-specialist", '{"reason": "lifetime"}')
    ]
    # The server ended it: the same cookie, sent again, opens nothing.
    _put_cookie(console, cookie)
    again = await console.get("/staff/")
    assert again.headers["location"] == "/staff/sign-in?ended=lifetime"
    assert await _details(pool, "console.session_refused") == [
        ("demo-specialist", {"reason": "ended", "ended": "lifetime"})
    ]
    assert await _sessions(pool) == [("demo-specialist", "lifetime")]


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
        data={"csrf_token": form_token(page), "staff_id": "demo-reviewer", "next": wanted},
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
        data={"csrf_token": form_token(page), "staff_id": "demo-reviewer", "next": hostile},
    )
    assert signed_in.status_code == 303 and signed_in.headers["location"] == "/staff/"


async def test_only_active_staff_sign_in(console: httpx.AsyncClient, pool: asyncpg.Pool) -> None:
    await pool.execute("UPDATE staff SET active = false WHERE staff_id = 'demo-lead'")
    token = form_token(await console.get("/staff/sign-in"))
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
    async with app_client(production) as http:
        page = await http.get("/staff/sign-in")
        assert page.status_code == 503
        assert "Sign-in is not set up" in page.text and "Demo staff" not in page.text
        assert "secure" in page.headers.get("set-cookie", "secure").lower()
        assert (await http.post("/staff/sign-in/demo")).status_code == 404
        started = await http.post("/staff/auth/start", data={"csrf_token": "x"})
        assert started.status_code == 403


async def test_the_cookie_names_a_session_whose_id_the_server_keeps_only_hashed(
    console: httpx.AsyncClient, settings: Settings, pool: asyncpg.Pool
) -> None:
    await _sign_in(console, "demo-reviewer")
    cookie = SessionStore.from_settings(settings).codec.loads(_session_cookie(console))
    assert cookie is not None and cookie.session_id is not None
    assert "demo-reviewer" not in json.dumps(cookie.model_dump())
    assert "reviewer" not in json.dumps(cookie.model_dump())
    row = await pool.fetchrow("SELECT * FROM console_sessions")
    assert row is not None
    assert (row["staff_id"], row["role"], row["method"]) == (
        "demo-reviewer",
        "reviewer",
        "development",
    )
    assert row["id_hash"] == hashlib.sha256(cookie.session_id.encode()).digest()
    assert cookie.session_id not in str(dict(row))


async def test_a_copy_of_the_cookie_opens_nothing_after_sign_out(
    console: httpx.AsyncClient, settings: Settings, pool: asyncpg.Pool
) -> None:
    # A medical lead, whom the proxy serves the Temporal UI.
    token = await _sign_in(console, "demo-lead")
    copy = _session_cookie(console)
    assert await _reads(console, settings) == (200, 204, 200)

    signed_out = await console.post("/staff/sign-out", data={"csrf_token": token})
    assert signed_out.headers["location"] == "/staff/sign-in?ended=signed_out"
    assert await _reads(console, settings, copy) == (303, 401, 401)
    _put_cookie(console, copy)
    page = await console.get("/staff/")
    assert page.headers["location"] == "/staff/sign-in?ended=signed_out"
    # A form sent with the copy changes nothing either.
    _put_cookie(console, copy)
    form = await console.post("/staff/sign-out", data={"csrf_token": token})
    assert form.headers["location"] == "/staff/sign-in?ended=signed_out"

    assert await _sessions(pool) == [("demo-lead", "signed_out")]
    assert [actor for actor, _ in await _details(pool, "console.sign_out")] == ["demo-lead"]
    refused = {"reason": "ended", "ended": "signed_out"}
    # Each console request that came with the copy is a row; the codec server's refusal is
    # its 401.
    assert await _details(pool, "console.session_refused") == [("demo-lead", refused)] * 4


async def test_an_idle_session_ends_on_the_server_and_its_cookie_opens_nothing_again(
    console: httpx.AsyncClient, settings: Settings, pool: asyncpg.Pool
) -> None:
    cookie, notice = await _outlive(console, pool, settings, "idle")
    assert f"after {settings.session_idle_minutes} minutes without activity" in notice
    assert await _details(pool, "console.session_ended") == [
        ("demo-specialist", {"reason": "idle"})
    ]
    for _ in range(2):
        assert await _reads(console, settings, cookie) == (303, 401, 401)
    assert await _sessions(pool) == [("demo-specialist", "idle")]
    assert len(await _details(pool, "console.session_ended")) == 1


async def test_the_last_seen_time_is_written_at_most_once_a_minute(
    console: httpx.AsyncClient, pool: asyncpg.Pool
) -> None:
    await _sign_in(console, "demo-reviewer")
    first = await pool.fetchval("SELECT seen_at FROM console_sessions")
    for _ in range(3):
        assert (await console.get("/staff/")).status_code == 200
    assert await pool.fetchval("SELECT seen_at FROM console_sessions") == first
    aged = await pool.fetchval(
        "UPDATE console_sessions SET seen_at = seen_at - interval '61 seconds' RETURNING seen_at"
    )
    assert (await console.get("/staff/")).status_code == 200
    assert await pool.fetchval("SELECT seen_at FROM console_sessions") > aged


async def test_a_member_deactivated_in_the_directory_is_refused_at_the_next_request(
    console: httpx.AsyncClient, settings: Settings, pool: asyncpg.Pool
) -> None:
    await _sign_in(console, "demo-reviewer")
    copy = _session_cookie(console)
    async with _browser(settings) as laptop:
        await _sign_in(laptop, "demo-reviewer")
        on_laptop = _session_cookie(laptop)
        async with _browser(settings) as colleague:
            await _sign_in(colleague, "demo-coordinator")
            await pool.execute("UPDATE staff SET active = false WHERE staff_id = 'demo-reviewer'")

            refused = await console.get("/staff/")
            assert refused.status_code == 403
            assert "This person cannot sign in" in refused.text
            assert "Signed in as" not in refused.text
            assert "max-age=0" in refused.headers["set-cookie"].lower()
            # Every session of theirs ended with it, in the other browser too.
            assert await _reads(laptop, settings, on_laptop) == (403, 401, 401)
            assert (await colleague.get("/staff/")).status_code == 200

    assert await _details(pool, "console.session_ended") == [
        ("demo-reviewer", {"reason": "deactivated", "sessions": 2})
    ]
    assert sorted(await _sessions(pool)) == [
        ("demo-coordinator", None),
        ("demo-reviewer", "deactivated"),
        ("demo-reviewer", "deactivated"),
    ]
    # Active again, they sign in again: the sessions that ended stay ended.
    await pool.execute("UPDATE staff SET active = true WHERE staff_id = 'demo-reviewer'")
    assert await _reads(console, settings, copy) == (303, 401, 401)


async def test_a_role_changed_in_the_directory_ends_the_session(
    console: httpx.AsyncClient, settings: Settings, pool: asyncpg.Pool
) -> None:
    await _sign_in(console, "demo-reviewer")
    copy = _session_cookie(console)
    await pool.execute("UPDATE staff SET role = 'case_manager' WHERE staff_id = 'demo-reviewer'")
    ended = await console.get("/staff/")
    assert ended.status_code == 303
    assert ended.headers["location"] == "/staff/sign-in?ended=role_changed"
    notice = await console.get(ended.headers["location"])
    assert "Your role in the staff directory has changed, so your session ended." in notice.text
    assert await _details(pool, "console.session_ended") == [
        ("demo-reviewer", {"reason": "role_changed", "sessions": 1})
    ]

    # Signed in again, they work in the directory's role; the old session stays ended, even
    # once the directory gives them their old role back, which ends the new one in its turn.
    await _sign_in(console, "demo-reviewer")
    assert "Signed in as Dr. Omar Haddad (Case manager)" in (await console.get("/staff/")).text
    current = _session_cookie(console)
    await pool.execute("UPDATE staff SET role = 'reviewer' WHERE staff_id = 'demo-reviewer'")
    assert await _reads(console, settings, copy) == (303, 401, 401)
    assert await _sessions(pool) == [("demo-reviewer", "role_changed"), ("demo-reviewer", None)]
    assert await _reads(console, settings, current) == (303, 401, 401)
    assert await _sessions(pool) == [
        ("demo-reviewer", "role_changed"),
        ("demo-reviewer", "role_changed"),
    ]


async def test_the_sessions_of_one_browser_leave_another_browsers_alone(
    console: httpx.AsyncClient, settings: Settings, pool: asyncpg.Pool
) -> None:
    """The same member of staff in two browsers: signing out, signing in again and idling in
    one end nothing in the other. A medical lead, whom the proxy serves the Temporal UI."""
    token = await _sign_in(console, "demo-lead")
    async with _browser(settings) as laptop:
        await _sign_in(laptop, "demo-lead")
        await console.post("/staff/sign-out", data={"csrf_token": token})
        assert await _reads(laptop, settings) == (200, 204, 200)
        await _sign_in(console, "demo-lead")
        assert await _reads(laptop, settings) == (200, 204, 200)
        await pool.execute(
            """UPDATE console_sessions SET seen_at = now() - make_interval(mins => $1 + 1)
                WHERE id_hash = $2""",
            settings.session_idle_minutes,
            _session_hash(console, settings),
        )
        assert (await console.get("/staff/")).headers["location"] == "/staff/sign-in?ended=idle"
        assert await _reads(laptop, settings) == (200, 204, 200)
    assert await _sessions(pool) == [
        ("demo-lead", "signed_out"),
        ("demo-lead", None),
        ("demo-lead", "idle"),
    ]


async def test_sessions_past_their_lifetime_are_deleted_as_people_sign_in(
    console: httpx.AsyncClient, settings: Settings, pool: asyncpg.Pool
) -> None:
    token = await _sign_in(console, "demo-reviewer")
    await console.post("/staff/sign-out", data={"csrf_token": token})
    async with _browser(settings) as laptop:
        await _sign_in(laptop, "demo-coordinator")
    await pool.execute(
        """UPDATE console_sessions SET started_at = now() - make_interval(hours => $1, mins => 1)
            WHERE staff_id = 'demo-coordinator'""",
        settings.session_max_hours,
    )
    assert len(await _sessions(pool)) == 2
    await _sign_in(console, "demo-lead")
    # The ended session is kept until its lifetime is over, so that a copy of its cookie is
    # refused with its ending named.
    assert await _sessions(pool) == [("demo-reviewer", "signed_out"), ("demo-lead", None)]


def test_when_a_session_must_end() -> None:
    """Without servers: the directory first, then the lifetime, then idling."""
    now = datetime(2031, 1, 15, 12, 0, tzinfo=UTC)
    live = SessionRow(
        staff_id="s-1",
        role="reviewer",
        started_at=now - timedelta(hours=11, minutes=59),
        seen_at=now - timedelta(minutes=14, seconds=59),
        ended_reason=None,
        now=now,
        directory_role="reviewer",
        active=True,
        full_name="S",
        time_zone="UTC",
    )
    limits = {"idle_seconds": 15 * 60, "max_seconds": 12 * 3600}
    assert row_ending(live, **limits) is None
    cases = {
        "deactivated": {"active": False, "seen_at": now - timedelta(hours=1)},
        "role_changed": {"directory_role": "specialist", "started_at": now - timedelta(days=1)},
        "lifetime": {"started_at": now - timedelta(hours=12, seconds=1)},
        "idle": {"seen_at": now - timedelta(minutes=15, seconds=1)},
    }
    for ending, changes in cases.items():
        assert row_ending(replace(live, **changes), **limits) == ending  # type: ignore[arg-type]
