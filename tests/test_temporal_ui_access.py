"""The question the production proxy asks before it serves the Temporal UI: a console session
whose role the codec server decodes for passes, no session is sent to sign in, others are
refused and the refusal audited."""

import asyncpg
import pytest
from playwright.async_api import Page

from api.console.session import COOKIE_NAME
from domain.actors import Role
from domain.readers import PAYLOAD_READERS
from tests.browser import ServedApp, demo_member, sign_in_as

ACCESS = "/staff/temporal-ui-access"


async def _refusals(url: str) -> list[tuple[str, str]]:
    conn = await asyncpg.connect(url)
    try:
        rows = await conn.fetch(
            "SELECT actor_role, detail->>'path' FROM audit_log "
            "WHERE action = 'console.temporal_ui_refused' ORDER BY seq"
        )
    finally:
        await conn.close()
    return [(r[0], r[1]) for r in rows]


async def test_without_a_session_the_answer_is_401(page: Page, served_app: ServedApp) -> None:
    answer = await page.request.get(f"{served_app.url}{ACCESS}")
    assert answer.status == 401


@pytest.mark.parametrize("role", sorted(PAYLOAD_READERS, key=str))
async def test_the_roles_that_read_payloads_pass(
    page: Page, served_app: ServedApp, role: Role
) -> None:
    await sign_in_as(page, served_app.url, role)
    answer = await page.request.get(f"{served_app.url}{ACCESS}")
    assert answer.status == 204


@pytest.mark.parametrize(
    "role",
    [Role.REVIEWER, Role.SPECIALIST, Role.CASE_MANAGER, Role.AUDITOR, Role.PRIVACY_OFFICER],
)
async def test_other_roles_are_refused_and_the_refusal_audited(
    page: Page, served_app: ServedApp, role: Role
) -> None:
    await sign_in_as(page, served_app.url, role)
    answer = await page.request.get(
        f"{served_app.url}{ACCESS}", headers={"X-Original-URI": "/temporal/namespaces/default"}
    )
    assert answer.status == 403
    url = served_app.settings.require_database_url()
    assert await _refusals(url) == [(role.value, "/temporal/namespaces/default")]


async def test_a_member_deactivated_in_the_directory_is_refused_at_the_next_ask(
    page: Page, served_app: ServedApp
) -> None:
    """The proxy asks before each request for the UI: the first after the directory lets its
    member go is refused, and their session is over."""
    await sign_in_as(page, served_app.url, Role.COORDINATOR)
    assert (await page.request.get(f"{served_app.url}{ACCESS}")).status == 204
    (cookie,) = [
        c
        for c in await page.context.cookies()
        if c["name"] == COOKIE_NAME and c["path"] == "/staff"
    ]
    staff_id, _ = demo_member(Role.COORDINATOR)
    url = served_app.settings.require_database_url()
    conn = await asyncpg.connect(url)
    try:
        await conn.execute("UPDATE staff SET active = false WHERE staff_id = $1", staff_id)
        assert (await page.request.get(f"{served_app.url}{ACCESS}")).status == 401
        await page.context.add_cookies([cookie])  # type: ignore[list-item]
        assert (await page.request.get(f"{served_app.url}{ACCESS}")).status == 401
        ended = await conn.fetch(
            "SELECT actor_id, detail::text FROM audit_log WHERE action = 'console.session_ended'"
        )
    finally:
        await conn.close()
    assert [tuple(r) for r in ended] == [(staff_id, '{"reason": "deactivated", "sessions": 1}')]
