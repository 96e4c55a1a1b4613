"""Appending to the audit log, and the row hash that chains its rows.

Row n is sealed with hash_n = HMAC-SHA256(key, hash_{n-1} || canonical_json(content_n)), hex,
where hash_0 is 64 zeros and content_n is the row's seq, at, actor, action, journey, patient,
source and detail. Whoever can edit the table but does not hold the key cannot re-seal a row
they changed, nor re-link the rows after one they removed or moved.
"""

import asyncio
import hashlib
import hmac
import json
import uuid
from datetime import UTC, datetime
from typing import Any, Required, TypedDict, Unpack

import asyncpg
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator

from db.audit_log import AuditLogRepository, AuditRow, LogEnd

GENESIS_HASH = "0" * 64
"""prev_hash of the first row."""

# Anyone who can guess the key can re-seal a rewritten log; an empty key makes the HMAC a
# plain hash that anyone can recompute.
MIN_KEY_BYTES = 16


class AuditEntry(BaseModel):
    """The content of one audit row: everything its hash covers except prev_hash.

    `detail` holds ids and codes only (never names or clinical text), as JSON objects, lists,
    strings, integers, booleans and nulls. Floats are refused: their JSON text does not always
    survive a trip through jsonb unchanged (1e16 comes back as 10000000000000000), and the
    hash is over that text.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    seq: int = Field(ge=1)
    at: AwareDatetime
    actor_id: str
    actor_role: str
    action: str = Field(examples=["journey.review", "record.write:treatment_plans"])
    journey_id: uuid.UUID | None = None
    patient_id: uuid.UUID | None = None
    source: str | None = Field(default=None, description="client address")
    detail: dict[str, Any] = Field(default_factory=dict)

    @field_validator("detail")
    @classmethod
    def _json_ids_and_codes(cls, value: dict[str, Any]) -> dict[str, Any]:
        return _stable_json(value, "detail")


def _stable_json(value: Any, where: str) -> Any:
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, list | tuple):
        return [_stable_json(v, f"{where}[{i}]") for i, v in enumerate(value)]
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            if not isinstance(k, str):
                raise ValueError(f"{where}: keys must be strings, not {type(k).__name__}")
            out[k] = _stable_json(v, f"{where}.{k}")
        return out
    raise ValueError(
        f"{where}: {type(value).__name__} is not allowed (ids and codes only: strings, "
        "integers, booleans, null, lists and objects)"
    )


class AuditRecord(BaseModel):
    """One stored row: its content and the two hashes that chain it."""

    model_config = ConfigDict(frozen=True)

    entry: AuditEntry
    prev_hash: str
    hash: str


def entry_content(entry: AuditEntry) -> dict[str, Any]:
    """The JSON-ready content a row hash covers.

    Written to cope with whatever a tampered row holds (verify builds entries without
    validation, so that it reports a changed row instead of failing on it).
    """
    at = entry.at
    return {
        "seq": entry.seq,
        "at": (
            at.astimezone(UTC).isoformat(timespec="microseconds")
            if isinstance(at, datetime)
            else at
        ),
        "actor_id": entry.actor_id,
        "actor_role": entry.actor_role,
        "action": entry.action,
        "journey_id": None if entry.journey_id is None else str(entry.journey_id),
        "patient_id": None if entry.patient_id is None else str(entry.patient_id),
        "source": entry.source,
        "detail": entry.detail,
    }


def canonical_json(value: Any) -> str:
    """Sorted keys, no whitespace, ASCII only: one text for one value."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True)


def content_hash(key: bytes, prev_hash: str, content: dict[str, Any]) -> str:
    """HMAC-SHA256(key, prev_hash || canonical_json(content)), hex.

    The concatenation is unambiguous: prev_hash is hex and canonical JSON of an object
    starts with "{".
    """
    message = prev_hash.encode("utf-8") + canonical_json(content).encode("ascii")
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def row_hash(key: bytes, prev_hash: str, entry: AuditEntry) -> str:
    """The hash a row holding `entry` after a row hashed `prev_hash` must carry."""
    return content_hash(key, prev_hash, entry_content(entry))


def _uuid(value: str | uuid.UUID | None) -> uuid.UUID | None:
    return None if value is None or isinstance(value, uuid.UUID) else uuid.UUID(value)


# A client address is personal data, and the log is kept for years and never edited: it
# holds a keyed hash of the address instead. The same address gives the same tag, so the
# requests of one client can still be followed, and whoever holds the key can check whether a
# given address made a request; without the key the tag says nothing. The key is its own
# (JOURNEYS_ADDRESS_KEY), or derived from the chain's key under this label.
ADDRESS_TAG_PREFIX = "addr:"
_ADDRESS_KEY_LABEL = b"journeys audit log: client address tags"


def address_key(audit_key: bytes) -> bytes:
    """The tag key derived from the chain's key, when no key of its own is set."""
    return hmac.new(audit_key, _ADDRESS_KEY_LABEL, hashlib.sha256).digest()


def address_tag(key: bytes, address: str) -> str:
    """`addr:` and 32 hex digits (128 bits) of HMAC-SHA256(key, address)."""
    digest = hmac.new(key, address.encode("utf-8"), hashlib.sha256).hexdigest()
    return ADDRESS_TAG_PREFIX + digest[:32]


def check_key(key: bytes) -> None:
    if not isinstance(key, bytes) or len(key) < MIN_KEY_BYTES:
        raise ValueError(f"the audit key must be at least {MIN_KEY_BYTES} bytes")


class EntryFields(TypedDict, total=False):
    """What a caller says of a row (`draft_entry`'s arguments)."""

    actor_id: Required[str]
    actor_role: Required[str]
    action: Required[str]
    journey_id: str | uuid.UUID | None
    patient_id: str | uuid.UUID | None
    source: str | None
    detail: dict[str, Any] | None
    at: datetime | None


class AuditLog:
    """Appends to the audit log. Takes a connection; the caller owns the pool."""

    def __init__(self, conn: asyncpg.Connection, key: bytes) -> None:
        check_key(key)
        self._conn = conn
        self._key = key

    async def append(self, **entry: Unpack[EntryFields]) -> int:
        """Append one row and return its seq; `at` defaults to the database's clock.

        Inside a caller's transaction this is a savepoint, and the row commits or rolls back
        with the caller's write. The append lock is then held until the caller's transaction
        ends, so append last. Use READ COMMITTED (the default): under REPEATABLE READ the
        snapshot can predate the lock, and the insert fails on the primary key (the chain
        still does not fork).
        """
        (seq,) = await self.append_drafts([draft_entry(**entry)], at=entry.get("at"))
        return seq

    async def append_drafts(
        self, drafts: list[AuditEntry], *, at: datetime | None = None
    ) -> list[int]:
        """Append rows in one transaction, in the order given, and return their seqs.

        Every row is dated `at`, or by the database's clock under the lock when it is None
        (the drafts' own `at` are placeholders).
        """
        if not drafts:
            return []

        def seal(end: LogEnd) -> list[AuditRow]:
            seq = 0 if end.seq is None else end.seq
            prev_hash = GENESIS_HASH if end.hash is None else end.hash
            rows = []
            for draft in drafts:
                seq += 1
                entry = draft.model_copy(update={"seq": seq, "at": at or end.now})
                digest = row_hash(self._key, prev_hash, entry)
                rows.append(
                    AuditRow(
                        seq=entry.seq,
                        at=entry.at,
                        actor_id=entry.actor_id,
                        actor_role=entry.actor_role,
                        action=entry.action,
                        journey_id=entry.journey_id,
                        patient_id=entry.patient_id,
                        source=entry.source,
                        detail=canonical_json(entry.detail),
                        prev_hash=prev_hash,
                        hash=digest,
                    )
                )
                prev_hash = digest
            return rows

        return await AuditLogRepository(self._conn).append(seal)


def draft_entry(
    *,
    actor_id: str,
    actor_role: str,
    action: str,
    journey_id: str | uuid.UUID | None = None,
    patient_id: str | uuid.UUID | None = None,
    source: str | None = None,
    detail: dict[str, Any] | None = None,
    at: datetime | None = None,
) -> AuditEntry:
    """A row's content, validated before any SQL runs; seq (and `at` when not given) are
    placeholders filled in under the append lock."""
    return AuditEntry(
        seq=1,
        at=at or datetime.now(UTC),
        actor_id=actor_id,
        actor_role=actor_role,
        action=action,
        journey_id=_uuid(journey_id),
        patient_id=_uuid(patient_id),
        source=source,
        detail=detail or {},
    )


class AuditWriter:
    """Appends rows for many concurrent callers in few transactions (a group commit).

    Every append holds the one append lock of the log until it commits, so one transaction
    per row makes concurrent requests queue behind each other's commits. Here the rows that
    arrive while a transaction is in flight go together in the next one. `append` still
    returns only once its row is committed, so nothing is acknowledged that is not stored.
    """

    def __init__(
        self,
        pool: asyncpg.Pool,
        key: bytes,
        max_batch: int = 200,
        *,
        source_key: bytes | None = None,
    ) -> None:
        """`source_key`, when given, keys the tag each row stores instead of its `source`
        (a client address): see `address_tag`."""
        check_key(key)
        self._pool = pool
        self._key = key
        self._max_batch = max_batch
        self._source_key = source_key
        self._pending: list[tuple[AuditEntry, asyncio.Future[int]]] = []
        self._flushing: asyncio.Task[None] | None = None

    async def append(self, **fields: Any) -> int:
        """`AuditLog.append`'s arguments, less `at`; returns the row's seq once committed."""
        source = fields.get("source")
        if self._source_key is not None and source:
            fields["source"] = address_tag(self._source_key, source)
        draft = draft_entry(**fields)
        future: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self._pending.append((draft, future))
        if self._flushing is None:
            self._flushing = asyncio.create_task(self._flush())
        # Shielded: a caller that goes away (a client disconnecting) leaves its row to be
        # written with the others rather than failing the batch.
        return await asyncio.shield(future)

    async def _flush(self) -> None:
        try:
            while self._pending:
                batch = self._pending[: self._max_batch]
                del self._pending[: self._max_batch]
                try:
                    async with self._pool.acquire() as conn:
                        seqs = await AuditLog(conn, self._key).append_drafts(
                            [draft for draft, _ in batch]
                        )
                except Exception as err:
                    for _, future in batch:
                        if not future.done():
                            future.set_exception(err)
                    continue
                for (_, future), seq in zip(batch, seqs, strict=True):
                    if not future.done():
                        future.set_result(seq)
        finally:
            self._flushing = None
