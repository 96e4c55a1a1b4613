"""Walking the audit log's hash chain and reporting the first row that is not as appended.

The rules, applied to the rows in seq order. `e` is the seq expected next (1 at first) and
`p` the hash of the last intact row (64 zeros at first); the first rule that holds is the
break, and the walk stops there.

1. "deleted" at e: the row's seq is above e. Seqs e .. seq-1 are missing (deleted, or
   renumbered away).
2. "reordered" at the row's seq: its seq is not above the previous row's. Only a list handed
   to `check_rows` out of order can do this; the database returns each seq once, in order.
3. The row's hash is not `row_hash(key, prev_hash, entry)` of its own columns, so it is not
   the row that was sealed:
   - "reordered" at e if its hash does verify with its content under the seq of another row
     of the log: it was moved (or copied) from that seq, as swapping two rows' seqs does;
   - "altered" at e otherwise: its content, prev_hash or hash was changed.
4. "altered" at e: the row is sealed correctly but its prev_hash is not p, so it was not
   appended after the row before it. Nobody without the key can produce this; it means rows
   sealed with the same key for another log were copied in.
5. "altered" at the anchor's seq: an anchor (a head recorded earlier) was given and that row
   now has another hash.
6. At the end, "deleted" at the last seq + 1: an anchor was given and the log now ends
   before the anchor's seq.

Without an anchor, rows removed from the end of the log leave a valid, shorter chain: only
a head kept elsewhere (from an earlier report) can reveal that. Every other single edit,
removal or move of rows by someone without the key is caught, at the first affected seq.
"""

import json
from collections.abc import Iterable
from contextlib import aclosing
from typing import Any, Literal, Self

import asyncpg
from pydantic import BaseModel, ConfigDict, model_validator

from audit.log import (
    GENESIS_HASH,
    AuditEntry,
    AuditRecord,
    check_key,
    content_hash,
    entry_content,
    row_hash,
)
from db.audit_log import AuditLogRepository, AuditRow

BreakKind = Literal["altered", "deleted", "reordered"]

# Rows fetched per round trip while streaming the log.
_PREFETCH = 1000


class ChainHead(BaseModel):
    """The last intact row of a verified log. Keep it elsewhere and pass it as the anchor
    of a later verify to catch rows removed from the end."""

    model_config = ConfigDict(frozen=True)

    seq: int
    hash: str


class ChainBreak(BaseModel):
    """The first row that is not as it was appended (see the module docstring for kinds)."""

    model_config = ConfigDict(frozen=True)

    seq: int
    kind: BreakKind
    message: str


class VerifyReport(BaseModel):
    """The outcome of one walk: ok, or the first break.

    `rows_checked` counts the rows found intact before the break (every row when ok), and
    `head` is the last of them.
    """

    model_config = ConfigDict(frozen=True)

    ok: bool
    rows_checked: int
    head: ChainHead | None
    problem: ChainBreak | None

    @model_validator(mode="after")
    def _ok_means_no_problem(self) -> Self:
        if self.ok != (self.problem is None):
            raise ValueError("ok must be true exactly when there is no problem")
        return self


class ChainChecker:
    """The rules of the module docstring, fed one row at a time so the log is never held in
    memory. `feed` rows in seq order until `done`, then take the `report`."""

    def __init__(self, key: bytes, *, anchor: ChainHead | None = None) -> None:
        check_key(key)
        self._key = key
        self._anchor = anchor
        self._expected = 1
        self._prev_hash = GENESIS_HASH
        self._checked = 0
        self._problem: ChainBreak | None = None
        # A row failing rule 3, while the rest of the log is searched for the seq it
        # verifies under; its content is kept for that search.
        self._suspect: tuple[AuditRecord, dict[str, Any]] | None = None

    @property
    def done(self) -> bool:
        return self._problem is not None

    def feed(self, row: AuditRecord) -> None:
        if self._problem is not None:
            return
        seq = row.entry.seq
        if self._suspect is not None:
            self._diagnose(seq)
        elif seq > self._expected:
            more = "" if seq == self._expected + 1 else f" (seqs {self._expected} to {seq - 1})"
            self._break(
                self._expected,
                "deleted",
                f"seq {self._expected} is missing{more}: the log goes on at seq {seq}",
            )
        elif seq < self._expected:
            self._break(
                seq, "reordered", f"seq {seq} comes after seq {self._expected - 1}, not before"
            )
        elif row.hash != row_hash(self._key, row.prev_hash, row.entry):
            self._suspect = (row, entry_content(row.entry))
        elif row.prev_hash != self._prev_hash:
            after = "does not start the log" if seq == 1 else f"does not follow seq {seq - 1}"
            self._break(
                seq,
                "altered",
                f"seq {seq} is sealed but {after}: a row of another log sealed with the same key",
            )
        elif self._anchor is not None and seq == self._anchor.seq and row.hash != self._anchor.hash:
            self._break(seq, "altered", f"seq {seq} does not have the anchor's hash")
        else:
            self._checked += 1
            self._prev_hash = row.hash
            self._expected = seq + 1

    def report(self) -> VerifyReport:
        if self._suspect is not None:
            for earlier in range(1, self._expected):
                self._diagnose(earlier)
                if self._problem is not None:
                    break
            else:
                row, _ = self._suspect
                self._break(
                    row.entry.seq,
                    "altered",
                    f"seq {row.entry.seq} does not match its hash: "
                    "its content, prev_hash or hash was changed",
                )
        if (
            self._problem is None
            and self._anchor is not None
            and self._anchor.seq >= self._expected
        ):
            self._break(
                self._expected,
                "deleted",
                f"the log ends at seq {self._expected - 1}, before the anchor's seq "
                f"{self._anchor.seq}",
            )
        head = (
            None if self._checked == 0 else ChainHead(seq=self._expected - 1, hash=self._prev_hash)
        )
        return VerifyReport(
            ok=self._problem is None,
            rows_checked=self._checked,
            head=head,
            problem=self._problem,
        )

    def _diagnose(self, candidate: int) -> None:
        """Rule 3: does the suspect row verify under seq `candidate`?"""
        assert self._suspect is not None
        row, content = self._suspect
        if candidate == row.entry.seq:
            return
        if content_hash(self._key, row.prev_hash, {**content, "seq": candidate}) == row.hash:
            self._suspect = None
            self._break(
                row.entry.seq,
                "reordered",
                f"seq {row.entry.seq} holds the row sealed as seq {candidate}: "
                "rows were moved or copied",
            )

    def _break(self, seq: int, kind: BreakKind, message: str) -> None:
        self._suspect = None
        self._problem = ChainBreak(seq=seq, kind=kind, message=message)


def check_rows(
    rows: Iterable[AuditRecord], key: bytes, *, anchor: ChainHead | None = None
) -> VerifyReport:
    """Verify rows given in seq order (the database's order), without a database."""
    checker = ChainChecker(key, anchor=anchor)
    for row in rows:
        checker.feed(row)
        if checker.done:
            break
    return checker.report()


def _record(row: AuditRow) -> AuditRecord:
    # Built without validation: a tampered row must be reported, not refused on the way in.
    entry = AuditEntry.model_construct(
        seq=row.seq,
        at=row.at,
        actor_id=row.actor_id,
        actor_role=row.actor_role,
        action=row.action,
        journey_id=row.journey_id,
        patient_id=row.patient_id,
        source=row.source,
        detail=json.loads(row.detail),
    )
    return AuditRecord.model_construct(entry=entry, prev_hash=row.prev_hash, hash=row.hash)


def sealed_under(row: AuditRow, key: bytes) -> bool:
    """Whether `row` carries the hash `key` gives its content: whether it was appended under
    `key` (and left as it was)."""
    record = _record(row)
    return record.hash == row_hash(key, record.prev_hash, record.entry)


async def verify_chain(
    conn: asyncpg.Connection, key: bytes, *, anchor: ChainHead | None = None
) -> VerifyReport:
    """Walk the whole log in seq order and report the first break (module docstring).

    Rows are streamed through a cursor; the single query sees one snapshot, so rows appended
    meanwhile are simply not part of this walk. The walk stops at the first break, except
    after a row that fails its own hash: the rest is then read (one HMAC a row) to tell a
    moved row from an edited one.
    """
    checker = ChainChecker(key, anchor=anchor)
    async with aclosing(AuditLogRepository(conn).rows(prefetch=_PREFETCH)) as rows:
        async for row in rows:
            checker.feed(_record(row))
            if checker.done:
                break
    return checker.report()


def format_report(report: VerifyReport) -> str:
    """One line for a person (and a log): the verdict, the break, and the head to keep."""
    head = "none" if report.head is None else f"seq {report.head.seq} {report.head.hash}"
    if report.problem is None:
        return f"audit log intact: {report.rows_checked} rows verified; head: {head}"
    return (
        f"audit log broken at seq {report.problem.seq} ({report.problem.kind}): "
        f"{report.problem.message}; {report.rows_checked} rows intact before it; "
        f"last intact: {head}"
    )
