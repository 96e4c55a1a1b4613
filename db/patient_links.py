"""Generations of a journey's patient links: revoking them moves the generation on."""

from dataclasses import dataclass
from datetime import datetime

from db.repository import Repository


@dataclass(frozen=True)
class LinkState:
    """What a patient link is checked against: the generation it must carry, and when the
    journey's personal data was erased (None while it is not)."""

    generation: int
    erased_at: datetime | None


class PatientLinkRepository(Repository):
    """Owns the SQL of `patient_links`."""

    async def generation(self, journey_id: str) -> int:
        """The generation a link must carry to be honoured: 0 until links are first revoked."""
        value = await self._conn.fetchval(
            "SELECT generation FROM patient_links WHERE journey_id = $1", journey_id
        )
        return int(value or 0)

    async def state(self, journey_id: str) -> LinkState:
        """The journey's link generation and its erasure, in one indexed read."""
        row = await self._conn.fetchrow(
            """SELECT (SELECT generation FROM patient_links WHERE journey_id = $1) AS generation,
                      (SELECT erased_at FROM erasures WHERE journey_id = $1) AS erased_at""",
            journey_id,
        )
        assert row is not None
        return LinkState(generation=int(row["generation"] or 0), erased_at=row["erased_at"])

    async def revoke(self, *, journey_id: str, revoked_by: str) -> int:
        """Refuse every link signed so far; the new generation, which the next link carries."""
        async with self._conn.transaction():
            generation: int = await self._conn.fetchval(
                """INSERT INTO patient_links (journey_id, generation, revoked_at, revoked_by)
                   VALUES ($1, 1, now(), $2)
                   ON CONFLICT (journey_id) DO UPDATE
                      SET generation = patient_links.generation + 1,
                          revoked_at = now(), revoked_by = EXCLUDED.revoked_by
                   RETURNING generation""",
                journey_id,
                revoked_by,
            )
        return generation
