"""A member of staff's work phone in the directory, against the real database: kept in E.164,
a number that is not international refused with its code and nothing changed, each change
audited by the field's name and never its number; and `journeys staff add --phone`, which
checks it the same way."""

import asyncpg
import pytest

from db.staff_directory import StaffDirectory
from domain.staff import StaffProblem, StaffRefused
from settings import Settings
from tests.privacy_checks import chain_intact
from tests.test_staff_directory import ADMIN, journeys_cli
from tests.unit.test_staff_phone import CASE_MANAGER


def directory(conn: asyncpg.Connection, settings: Settings) -> StaffDirectory:
    return StaffDirectory(
        conn, audit_key=settings.audit_key.get_secret_value().encode(), acting=ADMIN
    )


async def held(pool: asyncpg.Pool) -> list[tuple[object, ...]]:
    """Every member's row and every row of the audit log: what a refusal must leave as it was."""
    staff = await pool.fetch("SELECT * FROM staff ORDER BY staff_id")
    audit = await pool.fetch("SELECT seq, action, detail::text FROM audit_log ORDER BY seq")
    return [tuple(r.values()) for r in [*staff, *audit]]


async def audited_changes(pool: asyncpg.Pool) -> list[tuple[str, str]]:
    rows = await pool.fetch(
        """SELECT action, detail->>'fields' AS fields FROM audit_log
            WHERE action LIKE 'staff.%' ORDER BY seq"""
    )
    return [(r["action"], r["fields"]) for r in rows]


async def test_a_work_phone_is_kept_in_e164_and_a_bad_one_changes_nothing(
    pool: asyncpg.Pool, settings: Settings
) -> None:
    async with pool.acquire() as conn:
        added = await directory(conn, settings).add({**CASE_MANAGER, "phone": "+34 600 123 456"})
    assert added.phone == "+34600123456"
    phone = "SELECT phone FROM staff WHERE staff_id = 'lucia.romero'"
    assert await pool.fetchval(phone) == "+34600123456"

    before = await held(pool)
    for typed in ("600 123 456", "0034 600 123 456", "+34 600 123 456 ext 2"):
        async with pool.acquire() as conn:
            with pytest.raises(StaffRefused) as refused:
                await directory(conn, settings).change(
                    "lucia.romero", {**CASE_MANAGER, "phone": typed}
                )
        assert {k: (p.problem, p.value) for k, p in refused.value.problems.items()} == {
            "phone": (StaffProblem.PHONE_FORMAT, typed)
        }
        assert await held(pool) == before

    async with pool.acquire() as conn:
        await directory(conn, settings).change(
            "lucia.romero", {**CASE_MANAGER, "phone": "+34 (611) 222-333"}
        )
    assert await pool.fetchval(phone) == "+34611222333"
    async with pool.acquire() as conn:
        # The same number typed another way is no change, and leaves no row.
        await directory(conn, settings).change(
            "lucia.romero", {**CASE_MANAGER, "phone": "+34611222333"}
        )
        await directory(conn, settings).change("lucia.romero", {**CASE_MANAGER, "phone": ""})
    assert await pool.fetchval(phone) is None

    assert await audited_changes(pool) == [
        ("staff.add", None),
        ("staff.change", '["phone"]'),
        ("staff.change", '["phone"]'),
    ]
    details = await pool.fetch("SELECT detail::text FROM audit_log")
    for digits in ("600123456", "611222333"):
        assert not [d for d in details if digits in d["detail"]]
    assert await chain_intact(pool, settings)


async def test_the_database_itself_refuses_a_number_not_in_e164(pool: asyncpg.Pool) -> None:
    """Written around the directory (a script, by hand), a number is still E.164 or nothing."""
    async with pool.acquire() as conn:
        await conn.execute(
            """INSERT INTO staff (staff_id, full_name, email, role, languages, oidc_subject)
               VALUES ('cm-x', 'X', 'x@clinic.test', 'case_manager', '{en}', 'cm-x')"""
        )
        with pytest.raises(asyncpg.CheckViolationError):
            await conn.execute("UPDATE staff SET phone = '+34 600 123 456' WHERE staff_id = 'cm-x'")
        await conn.execute("UPDATE staff SET phone = '+34600123456' WHERE staff_id = 'cm-x'")


def _flags(member: dict[str, str]) -> list[str]:
    """A member as the directory's form takes them, as `journeys staff add` takes them."""
    flags = {"staff_id": "--id", "full_name": "--name", "time_zone": "--time-zone"}
    args = []
    for field, value in member.items():
        values = value.split(", ") if field == "languages" else [value]
        flag = "--language" if field == "languages" else flags.get(field, f"--{field}")
        args += [a for v in values for a in (flag, v)]
    return args


async def test_journeys_staff_add_takes_a_work_phone(
    pool: asyncpg.Pool, settings: Settings
) -> None:
    lucia = ["staff", "add", *_flags(CASE_MANAGER)]
    refused = await journeys_cli(settings, *lucia, "--phone", "600 123 456")
    assert refused.returncode == 1
    assert refused.stderr.splitlines() == [
        "phone: 600 123 456 is not an international phone number: write + and the country "
        "code first, such as +34 600 123 456"
    ]
    assert await pool.fetchval("SELECT count(*) FROM staff") == 0

    added = await journeys_cli(settings, *lucia, "--phone", "+34 600-123-456")
    assert added.returncode == 0, added.stderr
    assert added.stdout.strip() == "added lucia.romero (case_manager)"
    assert "600" not in added.stdout + added.stderr

    listed = await journeys_cli(settings, "staff", "list")
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.splitlines() == [
        "lucia.romero\tcase_manager\tactive\tEurope/Madrid\tes,en\tLucía Romero\t+34600123456"
    ]
