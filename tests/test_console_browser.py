"""The staff console in a real browser: Debian's chromium against the app served on loopback,
in development (demo staff sign in with one click)."""

import uuid

import asyncpg
from playwright.async_api import Browser, Page, expect

from api.console.session import COOKIE_NAME, SessionStore
from domain.actors import Role
from patient_links import mint_patient_link
from tests.browser import (
    Screenshot,
    ServedApp,
    assert_accessible,
    demo_member,
    sign_in_as,
)


async def audit_rows(url: str, action: str) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(url)
    try:
        rows: list[asyncpg.Record] = await conn.fetch(
            "SELECT actor_id, actor_role, detail::text AS detail FROM audit_log "
            "WHERE action = $1 ORDER BY seq",
            action,
        )
        return rows
    finally:
        await conn.close()


async def test_a_reviewer_signs_in_and_sees_their_name_and_role(
    page: Page, served_app: ServedApp, screenshot: Screenshot
) -> None:
    await page.goto(f"{served_app.url}/staff/sign-in")
    await expect(page.get_by_role("heading", level=1)).to_have_text("Sign in to the staff console")
    await expect(page.get_by_role("heading", name="Demo staff")).to_be_visible()
    await screenshot(page, "sign-in")
    await assert_accessible(page)

    name = await sign_in_as(page, served_app.url, Role.REVIEWER)
    banner = page.get_by_role("banner")
    await expect(banner).to_contain_text(f"Signed in as {name} (Medical reviewer)")
    await expect(banner.get_by_role("button", name="Sign out")).to_be_visible()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Worklist")
    await expect(page.get_by_role("main")).to_be_visible()
    await screenshot(page, "worklist")
    await assert_accessible(page)

    staff_id, _ = demo_member(Role.REVIEWER)
    signed_in = await audit_rows(served_app.settings.require_database_url(), "console.sign_in")
    assert [(r["actor_id"], r["actor_role"]) for r in signed_in] == [(staff_id, "reviewer")]


async def test_signing_out_ends_the_session(
    page: Page, served_app: ServedApp, screenshot: Screenshot, browser: Browser
) -> None:
    await sign_in_as(page, served_app.url, Role.COORDINATOR)
    # A copy of the session's cookie, as someone could take it before sign-out.
    (copy,) = [
        c
        for c in await page.context.cookies()
        if c["name"] == COOKIE_NAME and c["path"] == "/staff"
    ]
    await page.get_by_role("button", name="Sign out").click()
    await page.wait_for_url(f"{served_app.url}/staff/sign-in?ended=signed_out")
    await expect(page.get_by_role("status")).to_have_text("You have signed out.")
    await screenshot(page, "signed-out")

    # Neither the back button nor the address bar brings the console back.
    await page.go_back()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Sign in to the staff console")
    await expect(page.get_by_text("Signed in as")).to_have_count(0)
    await page.goto(f"{served_app.url}/staff/")
    assert page.url == f"{served_app.url}/staff/sign-in"
    codec = SessionStore.from_settings(served_app.settings).codec
    for cookie in await page.context.cookies():
        session = codec.loads(cookie["value"]) if cookie["name"] == COOKIE_NAME else None
        assert session is None or not session.signed_in

    # The session ended on the server: in another browser, the copy opens nothing, neither a
    # console page, nor the Temporal UI behind the proxy, nor the codec server.
    other = await browser.new_context()
    try:
        await other.add_cookies([copy])  # type: ignore[list-item]
        elsewhere = await other.new_page()
        await elsewhere.goto(f"{served_app.url}/staff/")
        assert elsewhere.url == f"{served_app.url}/staff/sign-in?ended=signed_out"
        await expect(elsewhere.get_by_text("Signed in as")).to_have_count(0)
        await other.add_cookies([copy])  # type: ignore[list-item]
        access = await elsewhere.request.get(f"{served_app.url}/staff/temporal-ui-access")
        assert access.status == 401
        await other.add_cookies([copy])  # type: ignore[list-item]
        settings = served_app.settings
        decode = await elsewhere.request.post(
            f"{served_app.url}/codec/decode",
            data={"payloads": []},
            headers={"Origin": settings.ui_origin, "X-Namespace": settings.temporal_namespace},
        )
        assert decode.status == 401
    finally:
        await other.close()

    staff_id, _ = demo_member(Role.COORDINATOR)
    url = served_app.settings.require_database_url()
    signed_out = await audit_rows(url, "console.sign_out")
    assert [r["actor_id"] for r in signed_out] == [staff_id]
    refused = await audit_rows(url, "console.session_refused")
    assert [(r["actor_id"], r["detail"]) for r in refused] == [
        (staff_id, '{"ended": "signed_out", "reason": "ended"}')
    ] * 2


async def test_an_idle_session_ends(
    page: Page, served_app: ServedApp, screenshot: Screenshot
) -> None:
    settings = served_app.settings
    await sign_in_as(page, served_app.url, Role.SPECIALIST)
    (cookie,) = [
        c
        for c in await page.context.cookies()
        if c["name"] == COOKIE_NAME and c["path"] == "/staff"
    ]
    # The browser's session, as if its last request were a minute past the idle limit.
    conn = await asyncpg.connect(settings.require_database_url())
    try:
        await conn.execute(
            "UPDATE console_sessions SET seen_at = now() - make_interval(mins => $1 + 1)",
            settings.session_idle_minutes,
        )
    finally:
        await conn.close()

    await page.goto(f"{served_app.url}/staff/")
    assert page.url == f"{served_app.url}/staff/sign-in?ended=idle"
    await expect(page.get_by_role("status")).to_contain_text(
        f"Your session ended after {settings.session_idle_minutes} minutes without activity"
    )
    await screenshot(page, "idle-ended")
    await page.goto(f"{served_app.url}/staff/")
    assert page.url == f"{served_app.url}/staff/sign-in"
    # The cookie the browser had, put back, is refused by the server.
    await page.context.add_cookies([cookie])  # type: ignore[list-item]
    await page.goto(f"{served_app.url}/staff/")
    assert page.url == f"{served_app.url}/staff/sign-in?ended=idle"
    await expect(page.get_by_text("Signed in as")).to_have_count(0)

    ended = await audit_rows(settings.require_database_url(), "console.session_ended")
    assert [(r["actor_id"], r["detail"]) for r in ended] == [
        (demo_member(Role.SPECIALIST)[0], '{"reason": "idle"}')
    ]


async def test_a_form_with_a_wrong_token_is_refused(
    page: Page, served_app: ServedApp, screenshot: Screenshot
) -> None:
    await sign_in_as(page, served_app.url, Role.CASE_MANAGER)
    session = page.get_by_role("navigation", name="Your session")
    await session.locator("input[name=csrf_token]").evaluate("field => field.value = 'forged'")
    await page.get_by_role("button", name="Sign out").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("This form has expired")
    await expect(page.get_by_role("alert")).to_contain_text("Nothing was changed.")
    await screenshot(page, "csrf-refused")
    await assert_accessible(page)

    # Nothing changed: still signed in.
    await page.goto(f"{served_app.url}/staff/")
    await expect(page.get_by_role("heading", level=1)).to_have_text("Worklist")
    refused = await audit_rows(served_app.settings.require_database_url(), "console.csrf_refused")
    assert [(r["actor_id"], r["detail"]) for r in refused] == [
        (demo_member(Role.CASE_MANAGER)[0], '{"reason": "mismatch", "status": 403}')
    ]


async def test_a_patient_link_does_not_open_the_console(
    page: Page, served_app: ServedApp, screenshot: Screenshot
) -> None:
    link = mint_patient_link(
        served_app.settings, journey_id=str(uuid.uuid4()), patient_id=str(uuid.uuid4())
    )
    answer = await page.goto(f"{served_app.url}/staff/?token={link}")
    assert answer is not None and answer.status == 403
    await expect(page.get_by_role("heading", level=1)).to_have_text(
        "Links do not open the staff console"
    )
    await screenshot(page, "link-refused")
    await assert_accessible(page)

    # Nor as a bearer token, not even beside a signed-in session.
    await sign_in_as(page, served_app.url, Role.MEDICAL_LEAD)
    await page.context.set_extra_http_headers({"Authorization": f"Bearer {link}"})
    answer = await page.goto(f"{served_app.url}/staff/")
    assert answer is not None and answer.status == 403
    await expect(page.get_by_role("heading", level=1)).to_have_text(
        "Links do not open the staff console"
    )

    refused = await audit_rows(served_app.settings.require_database_url(), "console.token_refused")
    assert [r["detail"] for r in refused] == [
        '{"token": "patient_link", "status": 403, "presented_as": "query"}',
        '{"token": "patient_link", "status": 403, "presented_as": "authorization_header"}',
    ]
