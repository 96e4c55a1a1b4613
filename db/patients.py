"""Patients' own records: contact details a coordinator corrects."""

from dataclasses import dataclass

from db.erasure import ErasureRepository
from db.repository import Repository


@dataclass(frozen=True)
class PatientContact:
    email: str
    phone: str


class PatientRepository(Repository):
    """Owns the SQL of patients."""

    async def correct_contact(
        self, *, journey_id: str, email: str | None, phone: str | None
    ) -> PatientContact | None:
        """Set the email and/or phone of the journey's patient; the contact now stored, or
        None when there is no such journey. Raises `Erased`, changing nothing, once the
        journey's personal data was erased: an address put back would be mailed again."""
        async with self._conn.transaction():
            if not await ErasureRepository(self._conn).hold_off(journey_id=journey_id):
                return None
            row = await self._conn.fetchrow(
                """UPDATE patients p SET email = coalesce($2, p.email),
                                         phone = coalesce($3, p.phone)
                     FROM journeys j
                    WHERE j.journey_id = $1 AND p.patient_id = j.patient_id
                RETURNING p.email, p.phone""",
                journey_id,
                email,
                phone,
            )
        return PatientContact(email=row["email"], phone=row["phone"]) if row else None
