"""The audit log: appends chain, the table refuses rewrites, and verify finds tampering.

The verification rules are tested property-based on in-memory rows (`check_rows`, the same
checker `verify_chain` feeds from the database); the database tests cover what only
PostgreSQL can show: the append-only triggers, the jsonb and timestamptz round trip of what
is hashed, concurrent appends, and a DBA's tampering with the triggers disabled.
"""

import asyncio
import uuid
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import asyncpg
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from audit.log import (
    GENESIS_HASH,
    AuditEntry,
    AuditLog,
    AuditRecord,
    AuditWriter,
    canonical_json,
    entry_content,
    row_hash,
)
from audit.verify import ChainHead, VerifyReport, check_rows, format_report, verify_chain
from db.pool import create_pool

KEY = b"test-audit-key-0123456789abcdef"
ACTIONS = ["journey.review", "inquiry.create", "document.upload", "record.write:treatment_plans"]
ROLES = ["coordinator", "reviewer", "specialist", "patient", "system"]


def sealed(entries: list[AuditEntry], key: bytes = KEY) -> list[AuditRecord]:
    """Rows as AuditLog.append writes them, without a database."""
    rows, prev_hash = [], GENESIS_HASH
    for entry in entries:
        digest = row_hash(key, prev_hash, entry)
        rows.append(AuditRecord(entry=entry, prev_hash=prev_hash, hash=digest))
        prev_hash = digest
    return rows


def head_of(rows: list[AuditRecord]) -> ChainHead:
    return ChainHead(seq=rows[-1].entry.seq, hash=rows[-1].hash)


_scalars = st.none() | st.booleans() | st.integers() | st.text(max_size=8)
_json = st.recursive(
    _scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner),
    max_leaves=6,
)
FIELDS: dict[str, st.SearchStrategy[Any]] = {
    "at": st.datetimes(timezones=st.just(UTC)),
    "actor_id": st.text(max_size=12),
    "actor_role": st.sampled_from(ROLES),
    "action": st.sampled_from(ACTIONS),
    "journey_id": st.none() | st.uuids(),
    "patient_id": st.none() | st.uuids(),
    "source": st.none() | st.ip_addresses().map(str),
    "detail": st.dictionaries(st.text(max_size=6), _json, max_size=4),
}
HEX64 = st.binary(min_size=32, max_size=32).map(bytes.hex)


@st.composite
def logs(draw: st.DrawFn) -> list[AuditRecord]:
    contents = draw(st.lists(st.fixed_dictionaries(FIELDS), min_size=3, max_size=15))
    return sealed([AuditEntry(seq=seq, **c) for seq, c in enumerate(contents, 1)])


def renumbered(row: AuditRecord, seq: int) -> AuditRecord:
    """The row with only its seq column changed, as an UPDATE of seq would leave it."""
    return row.model_copy(update={"entry": row.entry.model_copy(update={"seq": seq})})


@settings(max_examples=200, deadline=None)
@given(rows=logs(), data=st.data())
def test_verify_reports_the_first_tampered_seq_and_kind(
    rows: list[AuditRecord], data: st.DataObject
) -> None:
    """For a random log and one random tampering, with the head recorded before it:

    - the untouched log verifies ok, every row checked;
    - the tampered log never verifies ok, and the break is exactly:
      edit field F of row k (content, prev_hash or hash) -> seq k, "altered";
      delete row k -> seq k, "deleted";
      move row k to an unused seq above the last -> seq k, "deleted";
      swap the seqs of rows i < j -> seq i, "reordered";
      with rows_checked = that seq - 1 (the rows before it are intact);
    - without the anchor the result is the same, except that deleting the last row is not
      detectable (ok, one row fewer): the documented blind spot the anchor closes.
    """
    n, anchor = len(rows), head_of(rows)
    assert check_rows(rows, KEY, anchor=anchor) == VerifyReport(
        ok=True, rows_checked=n, head=anchor, problem=None
    )

    tampering = data.draw(st.sampled_from(["edit", "delete", "move", "swap"]))
    k = data.draw(st.integers(1, n), label="k")
    tampered = list(rows)
    tail_removed = False
    if tampering == "edit":
        field = data.draw(st.sampled_from([*FIELDS, "prev_hash", "hash"]), label="field")
        old = rows[k - 1]
        if field in FIELDS:
            entry = old.entry.model_copy(update={field: data.draw(FIELDS[field], label="new")})
            assume(canonical_json(entry_content(entry)) != canonical_json(entry_content(old.entry)))
            tampered[k - 1] = old.model_copy(update={"entry": entry})
        else:
            value = data.draw(HEX64, label="new")
            assume(value != getattr(old, field))
            tampered[k - 1] = old.model_copy(update={field: value})
        expected = (k, "altered")
    elif tampering == "delete":
        del tampered[k - 1]
        expected, tail_removed = (k, "deleted"), k == n
    elif tampering == "move":
        moved_to = data.draw(st.integers(n + 1, n + 100), label="moved_to")
        tampered = [*rows[: k - 1], *rows[k:], renumbered(rows[k - 1], moved_to)]
        expected = (k, "deleted")
    else:
        assume(k < n)
        i, j = k, data.draw(st.integers(k + 1, n), label="j")
        tampered[i - 1], tampered[j - 1] = renumbered(rows[j - 1], i), renumbered(rows[i - 1], j)
        expected = (i, "reordered")

    report = check_rows(tampered, KEY, anchor=anchor)
    assert not report.ok and report.problem is not None
    assert (report.problem.seq, report.problem.kind) == expected
    assert report.rows_checked == expected[0] - 1
    assert f"seq {expected[0]}" in report.problem.message

    unanchored = check_rows(tampered, KEY)
    if tail_removed:
        assert unanchored.ok and unanchored.rows_checked == n - 1
    else:
        assert unanchored == report


def test_a_wrong_key_breaks_the_first_row() -> None:
    rows = sealed(
        [
            AuditEntry(
                seq=1,
                at=datetime.now(UTC),
                actor_id="a",
                actor_role="system",
                action="inquiry.create",
            )
        ]
    )
    report = check_rows(rows, b"another-key-0123456789")
    assert report.problem is not None
    assert (report.problem.seq, report.problem.kind) == (1, "altered")


def test_rows_out_of_order_are_reordered() -> None:
    at = datetime.now(UTC)
    rows = sealed(
        [AuditEntry(seq=s, at=at, actor_id="a", actor_role="system", action="x") for s in (1, 2)]
    )
    report = check_rows([*rows, rows[0]], KEY)
    assert report.problem is not None
    assert (report.problem.seq, report.problem.kind) == (1, "reordered")


def test_detail_takes_ids_and_codes_only() -> None:
    base: dict[str, Any] = {
        "seq": 1,
        "at": datetime.now(UTC),
        "actor_id": "a",
        "actor_role": "x",
        "action": "y",
    }
    with pytest.raises(ValidationError, match="float is not allowed"):
        AuditEntry(**base, detail={"score": 0.5})
    with pytest.raises(ValidationError, match="keys must be strings"):
        AuditEntry(**base, detail={"codes": {1: "a"}})
    with pytest.raises(ValidationError, match="timezone"):
        AuditEntry(**{**base, "at": datetime(2030, 1, 1)})
    assert AuditEntry(**base, detail={"ids": ("a", "b")}).detail == {"ids": ["a", "b"]}


def test_short_keys_are_refused() -> None:
    with pytest.raises(ValueError, match="at least 16 bytes"):
        check_rows([], b"short")


async def append_rows(pool: asyncpg.Pool, count: int) -> list[int]:
    async with pool.acquire() as conn:
        log = AuditLog(conn, KEY)
        return [
            await log.append(
                actor_id=f"staff-{i}",
                actor_role="coordinator",
                action=ACTIONS[i % len(ACTIONS)],
                journey_id=uuid.uuid4(),
                patient_id=str(uuid.uuid4()),
                source="203.0.113.7",
                detail={"step": "review", "n": i},
            )
            for i in range(count)
        ]


async def verify(pool: asyncpg.Pool, anchor: ChainHead | None = None) -> VerifyReport:
    async with pool.acquire() as conn:
        return await verify_chain(conn, KEY, anchor=anchor)


async def tamper(database_url: str, *statements: str) -> None:
    """What a DBA who owns the table can do: switch the triggers off and rewrite rows."""
    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute("ALTER TABLE audit_log DISABLE TRIGGER USER")
        for statement in statements:
            await conn.execute(statement)
    finally:
        await conn.close()


def problem_of(report: VerifyReport) -> tuple[int, str]:
    assert not report.ok and report.problem is not None, format_report(report)
    return report.problem.seq, report.problem.kind


async def test_an_untouched_log_verifies(pool: asyncpg.Pool) -> None:
    assert await append_rows(pool, 5) == [1, 2, 3, 4, 5]
    async with pool.acquire() as conn:
        rows = await conn.fetch("SELECT prev_hash, hash FROM audit_log ORDER BY seq")
        async with conn.transaction():  # verify also runs inside a caller's transaction
            report = await verify_chain(conn, KEY)
    assert rows[0]["prev_hash"] == GENESIS_HASH
    assert [r["prev_hash"] for r in rows[1:]] == [r["hash"] for r in rows[:-1]]
    assert report == VerifyReport(
        ok=True, rows_checked=5, head=ChainHead(seq=5, hash=rows[-1]["hash"]), problem=None
    )
    assert format_report(report).startswith("audit log intact: 5 rows verified")


async def test_an_empty_log_verifies(pool: asyncpg.Pool) -> None:
    report = await verify(pool)
    assert report.ok and report.rows_checked == 0 and report.head is None


async def test_what_is_hashed_survives_the_database(pool: asyncpg.Pool) -> None:
    at = datetime(2031, 3, 4, 5, 6, 7, 890123, tzinfo=timezone(timedelta(hours=5, minutes=30)))
    detail = {
        "codes": ["ü", "日本", 'quote " and \\ backslash', "\u2028"],
        "nested": {"b": True, "a": None, "": [1, -2, 10**30]},
        "plan_id": str(uuid.uuid4()),
    }
    async with pool.acquire() as conn:
        log = AuditLog(conn, KEY)
        await log.append(actor_id="p-1", actor_role="patient", action="x", detail=detail, at=at)
        await log.append(actor_id="p-1", actor_role="patient", action="y")
        stored = await conn.fetchval("SELECT at FROM audit_log WHERE seq = 1")
    assert stored == at
    assert (await verify(pool)).ok


async def test_the_table_refuses_update_delete_and_truncate(pool: asyncpg.Pool) -> None:
    await append_rows(pool, 3)
    async with pool.acquire() as conn:
        for statement in (
            "UPDATE audit_log SET detail = '{}' WHERE seq = 2",
            "DELETE FROM audit_log WHERE seq = 3",
            "TRUNCATE audit_log",
        ):
            with pytest.raises(asyncpg.exceptions.InsufficientPrivilegeError, match="append-only"):
                await conn.execute(statement)
        assert await conn.fetchval("SELECT count(*) FROM audit_log") == 3
    assert (await verify(pool)).ok


async def test_an_edited_row_is_altered(pool: asyncpg.Pool, database_url: str) -> None:
    await append_rows(pool, 5)
    await tamper(database_url, """UPDATE audit_log SET detail = '{"step": "x"}' WHERE seq = 3""")
    report = await verify(pool)
    assert problem_of(report) == (3, "altered")
    assert report.rows_checked == 2
    assert "broken at seq 3 (altered)" in format_report(report)


async def test_a_deleted_row_is_deleted(pool: asyncpg.Pool, database_url: str) -> None:
    await append_rows(pool, 5)
    await tamper(database_url, "DELETE FROM audit_log WHERE seq = 3")
    assert problem_of(await verify(pool)) == (3, "deleted")


@pytest.mark.parametrize(
    ("statements", "expected"),
    [
        pytest.param(
            # Through a free seq: the primary key is checked row by row.
            (
                "UPDATE audit_log SET seq = 1000 WHERE seq = 2",
                "UPDATE audit_log SET seq = 2 WHERE seq = 4",
                "UPDATE audit_log SET seq = 4 WHERE seq = 1000",
            ),
            (2, "reordered"),
            id="seqs",
        ),
        pytest.param(
            (
                """UPDATE audit_log a
                      SET at = b.at, actor_id = b.actor_id, actor_role = b.actor_role,
                          action = b.action, journey_id = b.journey_id,
                          patient_id = b.patient_id, source = b.source, detail = b.detail
                     FROM audit_log b
                    WHERE (a.seq, b.seq) IN ((2, 4), (4, 2))""",
            ),
            (2, "altered"),
            id="contents",
        ),
    ],
)
async def test_swapped_rows_break_at_the_first(
    pool: asyncpg.Pool, database_url: str, statements: tuple[str, ...], expected: tuple[int, str]
) -> None:
    await append_rows(pool, 5)
    await tamper(database_url, *statements)
    assert problem_of(await verify(pool)) == expected


async def test_a_removed_tail_needs_the_anchor(pool: asyncpg.Pool, database_url: str) -> None:
    await append_rows(pool, 4)
    anchor = (await verify(pool)).head
    await tamper(database_url, "DELETE FROM audit_log WHERE seq = 4")
    shorter = await verify(pool)
    assert shorter.ok and shorter.rows_checked == 3
    assert problem_of(await verify(pool, anchor)) == (4, "deleted")


async def test_concurrent_appends_do_not_fork(database_url: str) -> None:
    racers = await create_pool(database_url, min_size=20, max_size=20)
    try:

        async def one(i: int) -> int:
            async with racers.acquire() as conn:
                return await AuditLog(conn, KEY).append(
                    actor_id=f"staff-{i}", actor_role="reviewer", action="journey.review"
                )

        seqs = await asyncio.gather(*(one(i) for i in range(20)))
        assert sorted(seqs) == list(range(1, 21))
        rows = await racers.fetch("SELECT at, prev_hash FROM audit_log ORDER BY seq")
        assert len({r["prev_hash"] for r in rows}) == 20
        ats = [r["at"] for r in rows]
        assert ats == sorted(ats)  # the database clock, read under the lock
        report = await verify(racers)
        assert report.ok and report.rows_checked == 20
    finally:
        await racers.close()


async def test_a_writer_commits_concurrent_requests_together(database_url: str) -> None:
    """Two API processes' writers, 60 requests at once: one unforked chain, and rows that
    arrived together were committed together (one clock reading per transaction)."""
    pools = [await create_pool(database_url, min_size=2, max_size=4) for _ in range(2)]
    try:
        writers = [AuditWriter(p, KEY) for p in pools]
        seqs = await asyncio.gather(
            *(
                writers[i % 2].append(
                    actor_id=f"staff-{i}", actor_role="coordinator", action=f"GET /{i}"
                )
                for i in range(60)
            )
        )
        assert sorted(seqs) == list(range(1, 61))
        rows = await pools[0].fetch("SELECT seq, actor_id, at FROM audit_log ORDER BY seq")
        assert {r["actor_id"] for r in rows} == {f"staff-{i}" for i in range(60)}
        assert {r["seq"]: r["actor_id"] for r in rows} == {
            seq: f"staff-{i}" for i, seq in enumerate(seqs)
        }
        assert len({r["at"] for r in rows}) < 10
        report = await verify(pools[0])
        assert report.ok and report.rows_checked == 60
    finally:
        for p in pools:
            await p.close()


async def test_a_writer_that_cannot_reach_the_database_says_so(database_url: str) -> None:
    closed = await create_pool(database_url, min_size=1, max_size=1)
    await closed.close()
    writer = AuditWriter(closed, KEY)
    with pytest.raises(asyncpg.exceptions.InterfaceError):
        await writer.append(actor_id="s-1", actor_role="coordinator", action="a")
    with pytest.raises(ValidationError):
        await writer.append(actor_id="s-1", actor_role="coordinator", action="a", detail={"x": 1.5})


async def test_an_append_commits_or_rolls_back_with_the_caller(pool: asyncpg.Pool) -> None:
    async with pool.acquire() as conn:
        log = AuditLog(conn, KEY)
        with pytest.raises(RuntimeError):
            async with conn.transaction():
                await log.append(actor_id="s-1", actor_role="coordinator", action="a")
                raise RuntimeError("the caller's write failed")
        assert await log.append(actor_id="s-1", actor_role="coordinator", action="b") == 1
        async with conn.transaction():
            assert await log.append(actor_id="s-1", actor_role="coordinator", action="c") == 2
    report = await verify(pool)
    assert report.ok and report.rows_checked == 2
