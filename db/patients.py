"""Patients' own records: contact details a coordinator corrects."""

from dataclasses import dataclass

import asyncpg


@dataclass(frozen=True)
class PatientContact:
    email: str
    phone: str


class PatientRepository:
    """Owns the SQL of patients. Takes a connection; the caller owns the pool."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        self._conn = conn

    async def correct_contact(
        self, *, journey_id: str, email: str | None, phone: str | None
    ) -> PatientContact | None:
        """Set the email and/or phone of the journey's patient; the contact now stored, or
        None when there is no such journey."""
        row = await self._conn.fetchrow(
            """UPDATE patients p SET email = coalesce($2, p.email), phone = coalesce($3, p.phone)
                 FROM journeys j
                WHERE j.journey_id = $1 AND p.patient_id = j.patient_id
            RETURNING p.email, p.phone""",
            journey_id,
            email,
            phone,
        )
        return PatientContact(email=row["email"], phone=row["phone"]) if row else None
