"""The console's worklist and case page over HTTP (no browser): languages, time zones, bad
addresses, and what auditors are not shown. Journeys are written straight into PostgreSQL: the
pages read the journey's status from Temporal when it answers, and do without it when not."""

import json
import uuid
from datetime import UTC, datetime, timedelta

import asyncpg
import httpx

from api.console.viewer import BROWSER_ZONE_COOKIE
from tests.app_client import form_token, sign_in
from tests.journey_rows import add_document, add_journey

SENTINEL = "Zebulon Quartzfield"


async def _rows(pool: asyncpg.Pool, action: str) -> list[tuple[str, str | None, dict[str, str]]]:
    rows = await pool.fetch(
        "SELECT actor_id, journey_id, detail FROM audit_log WHERE action = $1 ORDER BY seq",
        action,
    )
    return [
        (r["actor_id"], str(r["journey_id"]) if r["journey_id"] else None, json.loads(r["detail"]))
        for r in rows
    ]


async def _image(pool: asyncpg.Pool, journey_id: str, filename: str, content: bytes) -> str:
    """A PNG image someone uploaded to the journey; its id."""
    return await add_document(
        pool,
        journey_id,
        filename=filename,
        content_type="image/png",
        content=content,
        uploaded_by="someone",
    )


async def test_the_worklist_in_spanish_by_the_browser_and_by_the_switch(
    console: httpx.AsyncClient, pool: asyncpg.Pool
) -> None:
    late = datetime.now(UTC) - timedelta(hours=30)
    jid = await add_journey(pool, deadline=late, name=SENTINEL)
    await sign_in(console, "demo-reviewer")
    page = await console.get("/staff/", headers={"Accept-Language": "es-MX,es;q=0.9"})
    assert page.status_code == 200
    assert '<html lang="es"' in page.text
    assert "Lista de trabajo" in page.text and "Validación" in page.text
    assert jid[:8].upper() in page.text and SENTINEL in page.text
    # The reviewer's record keeps UTC; every time on the page names its zone.
    assert "(UTC)" in page.text and "1 día de retraso" in page.text

    switch = await console.post(
        "/staff/language",
        data={"csrf_token": form_token(page), "language": "en", "next": "/staff/?stage=VALIDATION"},
        headers={"Accept-Language": "es"},
    )
    assert switch.status_code == 303 and switch.headers["location"] == "/staff/?stage=VALIDATION"
    english = await console.get(switch.headers["location"], headers={"Accept-Language": "es"})
    assert '<html lang="en"' in english.text and "Worklist" in english.text
    elsewhere = await console.post(
        "/staff/language",
        data={"csrf_token": form_token(page), "language": "es", "next": "https://evil.example/"},
    )
    assert elsewhere.headers["location"] == "/staff/"


async def test_times_in_the_staff_members_zone_else_the_browsers_else_utc(
    console: httpx.AsyncClient, pool: asyncpg.Pool
) -> None:
    await add_journey(pool, deadline=datetime(2031, 1, 15, 12, 0, tzinfo=UTC))
    await sign_in(console, "demo-coordinator")
    page = await console.get("/staff/")
    assert "Wed 15 Jan 2031, 13:00 (Europe/Madrid)" in page.text

    # A staff record whose zone is not one (an operator's typing) gives way to the browser's
    # zone, from the next page on: the record is read with the session on every request.
    await pool.execute("UPDATE staff SET time_zone = 'Madrid' WHERE staff_id = 'demo-coordinator'")
    page = await console.get("/staff/")
    assert "Wed 15 Jan 2031, 12:00 (UTC)" in page.text
    # The script that keeps the browser's zone for the next page.
    assert '<script src="/static/console-zone.js"></script>' in page.text
    console.cookies.set(BROWSER_ZONE_COOKIE, "America/Mexico_City", domain="testserver.local")
    page = await console.get("/staff/")
    assert "Wed 15 Jan 2031, 06:00 (America/Mexico_City)" in page.text
    console.cookies.set(BROWSER_ZONE_COOKIE, "../../etc/passwd", domain="testserver.local")
    assert "(UTC)" in (await console.get("/staff/")).text


async def test_filters_that_are_not_understood_are_named_and_left_out(
    console: httpx.AsyncClient, pool: asyncpg.Pool
) -> None:
    await add_journey(pool)
    await sign_in(console, "demo-coordinator")
    page = await console.get("/staff/?stage=NOWHERE&country=ES&page=x")
    assert page.status_code == 200
    assert "These filters were not understood and were left out: stage, page." in page.text
    assert '<option value="ES" selected>Spain</option>' in page.text


async def test_an_unknown_journey_is_a_404_page(
    console: httpx.AsyncClient, pool: asyncpg.Pool
) -> None:
    await sign_in(console, "demo-reviewer")
    unknown = str(uuid.uuid4())
    for address in (f"/staff/journeys/{unknown}", "/staff/journeys/not-a-journey"):
        page = await console.get(address)
        assert page.status_code == 404
        assert "No such journey" in page.text and "Nothing was changed." in page.text
    rows = await pool.fetch(
        "SELECT journey_id, detail FROM audit_log WHERE action = $1 ORDER BY seq",
        "GET /staff/journeys/{journey_id}",
    )
    assert [(str(r["journey_id"]), json.loads(r["detail"])) for r in rows] == [
        (unknown, {"status": 404, "reason": "no_journey"}),
        ("None", {"status": 404, "reason": "no_journey"}),
    ]


async def test_a_document_of_another_journey_is_not_found_and_audited(
    console: httpx.AsyncClient, pool: asyncpg.Pool
) -> None:
    mine, other = await add_journey(pool), await add_journey(pool)
    scan = await _image(pool, other, "other.png", b"\x89PNG other")
    await sign_in(console, "demo-reviewer")
    refused = await console.get(f"/staff/journeys/{mine}/documents/{scan}")
    assert refused.status_code == 404 and "No such document" in refused.text
    assert b"PNG other" not in refused.content
    opened = await console.get(f"/staff/journeys/{other}/documents/{scan}")
    assert opened.status_code == 200 and opened.content == b"\x89PNG other"
    assert opened.headers["content-type"] == "image/png"
    assert opened.headers["content-disposition"].startswith('inline; filename="other.png"')
    assert await _rows(pool, "document.not_found") == [
        ("demo-reviewer", mine, {"document_id": scan})
    ]
    assert await _rows(pool, "document.read") == [("demo-reviewer", other, {"document_id": scan})]


async def test_an_auditor_sees_the_reference_only(
    console: httpx.AsyncClient, pool: asyncpg.Pool
) -> None:
    jid = await add_journey(pool, name=SENTINEL, medical_history="History HX-4471")
    scan = await _image(pool, jid, "scan.png", b"\x89PNG")
    await sign_in(console, "demo-auditor")
    for address in ("/staff/", f"/staff/journeys/{jid}"):
        page = await console.get(address)
        assert page.status_code == 200
        assert jid[:8].upper() in page.text
        for secret in (SENTINEL, "HX-4471", "ana@example.org", "scan.png"):
            assert secret not in page.text, (address, secret)
    refused = await console.get(f"/staff/journeys/{jid}/documents/{scan}")
    assert refused.status_code == 403 and "Not for your role" in refused.text
    assert await _rows(pool, "document.read") == []


async def test_the_case_page_without_temporal_says_what_postgresql_knows(
    console: httpx.AsyncClient, pool: asyncpg.Pool
) -> None:
    """A journey that is only in PostgreSQL (its workflow unknown to this Temporal) still has
    its case page: the sentence from the projection, the records, and a note."""
    jid = await add_journey(pool, name=SENTINEL, deadline=datetime(2031, 1, 15, 12, tzinfo=UTC))
    await sign_in(console, "demo-reviewer")
    page = await console.get(f"/staff/journeys/{jid}")
    assert page.status_code == 200
    assert "Validation: waiting on a medical reviewer by Wed 15 Jan 2031, 12:00 (UTC)." in page.text
    assert "The journey did not answer just now" in page.text
    assert SENTINEL in page.text and "Partial sensation below T6." in page.text
    assert '<section id="actions"' in page.text
    # The Temporal UI decodes for roles that reach every journey only: a reviewer is not led to it.
    assert f"/namespaces/default/workflows/journey-{jid}" not in page.text
