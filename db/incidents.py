"""Incidents as the journeys' activities record them."""

from db.repository import Repository
from domain.records import IncidentRecord


class IncidentRepository(Repository):
    """Owns the SQL of incidents."""

    async def record(self, *, record: IncidentRecord) -> bool:
        """Open the incident, or resolve it; repeating either changes nothing. True when this
        call opened it (a retried activity finds it open already)."""
        incident = record.incident
        async with self._conn.transaction():
            inserted = await self._conn.fetchval(
                """INSERT INTO incidents (journey_id, workflow, number, kind, step, opened_at)
                   VALUES ($1, $2, $3, $4, $5, $6)
                   ON CONFLICT DO NOTHING RETURNING number""",
                record.journey_id,
                record.workflow,
                incident.number,
                incident.kind.value,
                incident.step,
                incident.since,
            )
            if record.resolution is not None:
                await self._conn.execute(
                    """UPDATE incidents SET resolution = $4, resolved_by = $5, resolved_at = $6
                        WHERE journey_id = $1 AND workflow = $2 AND number = $3
                          AND resolved_at IS NULL""",
                    record.journey_id,
                    record.workflow,
                    incident.number,
                    record.resolution.value,
                    record.resolved_by,
                    record.resolved_at,
                )
            # The journey shows its newest open incident, of either of its workflows.
            await self._conn.execute(
                """UPDATE journeys SET incident = (
                       SELECT kind FROM incidents
                        WHERE journey_id = $1 AND resolved_at IS NULL
                        ORDER BY opened_at DESC LIMIT 1)
                    WHERE journey_id = $1""",
                record.journey_id,
            )
        return inserted is not None and record.resolution is None
