"""Legal holds, which keep a journey's records from erasure, and requests to erase them."""

import uuid
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from db.repository import Repository


@dataclass(frozen=True)
class LegalHold:
    hold_id: str
    journey_id: str
    reason: str
    placed_by: str
    placed_at: datetime
    lifted_by: str | None
    lifted_at: datetime | None
    lift_reason: str | None


@dataclass(frozen=True)
class ErasureRequest:
    request_id: str
    journey_id: str
    reason: str
    requested_by: str
    requested_role: str
    requested_at: datetime
    executed_at: datetime | None
    executed_by: str | None


class AlreadyHeld(Exception):
    """The journey is under a legal hold already: one at a time, lifted before another."""


def _hold(row: asyncpg.Record) -> LegalHold:
    return LegalHold(
        **{**dict(row), "hold_id": str(row["hold_id"]), "journey_id": str(row["journey_id"])}
    )


def _request(row: asyncpg.Record) -> ErasureRequest:
    return ErasureRequest(
        **{
            **dict(row),
            "request_id": str(row["request_id"]),
            "journey_id": str(row["journey_id"]),
        }
    )


_HOLD = "hold_id, journey_id, reason, placed_by, placed_at, lifted_by, lifted_at, lift_reason"
_REQUEST = """request_id, journey_id, reason, requested_by, requested_role, requested_at,
              executed_at, executed_by"""


class LegalHoldRepository(Repository):
    """Owns the SQL of legal holds and erasure requests."""

    async def place(self, *, journey_id: str, reason: str, placed_by: str) -> LegalHold:
        """Place a hold; `AlreadyHeld` when one is open (the open one stands unchanged)."""
        try:
            async with self._conn.transaction():
                row = await self._conn.fetchrow(
                    f"""INSERT INTO legal_holds (hold_id, journey_id, reason, placed_by)
                        VALUES ($1, $2, $3, $4) RETURNING {_HOLD}""",
                    uuid.uuid4(),
                    journey_id,
                    reason,
                    placed_by,
                )
        except asyncpg.UniqueViolationError:
            raise AlreadyHeld(journey_id) from None
        return _hold(row)

    async def lift(self, *, journey_id: str, lifted_by: str, reason: str) -> LegalHold | None:
        """Lift the open hold; None when there is none."""
        async with self._conn.transaction():
            row = await self._conn.fetchrow(
                f"""UPDATE legal_holds SET lifted_by = $2, lifted_at = now(), lift_reason = $3
                     WHERE journey_id = $1 AND lifted_at IS NULL
                 RETURNING {_HOLD}""",
                journey_id,
                lifted_by,
                reason,
            )
        return None if row is None else _hold(row)

    async def open_hold(self, *, journey_id: str) -> LegalHold | None:
        row = await self._conn.fetchrow(
            f"SELECT {_HOLD} FROM legal_holds WHERE journey_id = $1 AND lifted_at IS NULL",
            journey_id,
        )
        return None if row is None else _hold(row)

    async def holds(self, *, journey_id: str) -> list[LegalHold]:
        """Every hold of the journey, lifted ones included, oldest first."""
        rows = await self._conn.fetch(
            f"SELECT {_HOLD} FROM legal_holds WHERE journey_id = $1 ORDER BY placed_at",
            journey_id,
        )
        return [_hold(r) for r in rows]

    async def request_erasure(
        self, *, journey_id: str, reason: str, requested_by: str, requested_role: str
    ) -> ErasureRequest:
        async with self._conn.transaction():
            row = await self._conn.fetchrow(
                f"""INSERT INTO erasure_requests (request_id, journey_id, reason, requested_by,
                                                  requested_role)
                    VALUES ($1, $2, $3, $4, $5) RETURNING {_REQUEST}""",
                uuid.uuid4(),
                journey_id,
                reason,
                requested_by,
                requested_role,
            )
        return _request(row)

    async def erasure_request(self, *, request_id: str) -> ErasureRequest | None:
        row = await self._conn.fetchrow(
            f"SELECT {_REQUEST} FROM erasure_requests WHERE request_id = $1",
            uuid.UUID(request_id),
        )
        return None if row is None else _request(row)

    async def erasure_requests(
        self, *, journey_id: str | None = None, open_only: bool = False, limit: int = 200
    ) -> list[ErasureRequest]:
        """Requests of one journey or of all, oldest first; `open_only`: not yet executed."""
        rows = await self._conn.fetch(
            f"""SELECT {_REQUEST} FROM erasure_requests
                 WHERE ($1::uuid IS NULL OR journey_id = $1)
                   AND (NOT $2 OR executed_at IS NULL)
                 ORDER BY requested_at LIMIT $3""",
            uuid.UUID(journey_id) if journey_id else None,
            open_only,
            limit,
        )
        return [_request(r) for r in rows]
