"""Generations of a journey's patient links: revoking them moves the generation on."""

import asyncpg


class PatientLinkRepository:
    """Owns the SQL of `patient_links`. Takes a connection; the caller owns the pool."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        self._conn = conn

    async def generation(self, journey_id: str) -> int:
        """The generation a link must carry to be honoured: 0 until links are first revoked."""
        value = await self._conn.fetchval(
            "SELECT generation FROM patient_links WHERE journey_id = $1", journey_id
        )
        return int(value or 0)

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
