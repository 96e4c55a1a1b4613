"""Who reached one patient's data: the audit log's rows about a journey or its patient."""

import json
from dataclasses import dataclass
from datetime import datetime

from db.repository import Repository


@dataclass(frozen=True)
class Access:
    """One audited request or command about the journey: who, in which role, what, when."""

    seq: int
    at: datetime
    actor_id: str
    actor_role: str
    actor_name: str | None
    action: str
    status: int | None


class AccessRepository(Repository):
    """Owns the SQL of reading the audit log by journey."""

    async def for_journey(self, *, journey_id: str, limit: int = 1000) -> list[Access]:
        """Rows naming the journey or its patient (the patient's own requests name the
        patient), oldest first, with the name of each member of staff still on file."""
        rows = await self._conn.fetch(
            """SELECT a.seq, a.at, a.actor_id, a.actor_role, a.action, a.detail::text AS detail,
                      s.full_name AS actor_name
                 FROM audit_log a
                 LEFT JOIN staff s ON s.staff_id = a.actor_id
                WHERE a.journey_id = $1
                   OR a.patient_id = (SELECT patient_id FROM journeys WHERE journey_id = $1)
                ORDER BY a.seq
                LIMIT $2""",
            journey_id,
            limit,
        )
        accesses = []
        for r in rows:
            status = json.loads(r["detail"]).get("status")
            accesses.append(
                Access(
                    seq=r["seq"],
                    at=r["at"],
                    actor_id=r["actor_id"],
                    actor_role=r["actor_role"],
                    actor_name=r["actor_name"],
                    action=r["action"],
                    status=status if isinstance(status, int) else None,
                )
            )
        return accesses
