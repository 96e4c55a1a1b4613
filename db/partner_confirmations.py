"""What hotel and transfer partners answered to the journey's requests: one confirmation per
booking, with the partner's reference and the name of whoever confirmed.

A partner confirms through a signed link (`partner_links.py`) that works once: the link's id
is unique here, so a second use of it finds the first. A coordinator recording a partner's
answer from its email or call leaves no link id. The journey is told the confirmation's id
only; the reference and the name are the partner's words and stay here.
"""

import uuid
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from db.repository import Repository
from domain.records import BookingKind


class AlreadyConfirmed(Exception):
    """The booking has its confirmation already (by a link or a coordinator)."""


class LinkUsed(Exception):
    """This partner link has confirmed a booking already."""


@dataclass(frozen=True)
class PartnerBooking:
    """A hotel or transfer booking a partner link names, as its page shows it: no patient
    details, the dates only."""

    booking_id: str
    kind: BookingKind
    starts_at: datetime
    ends_at: datetime
    status: str


@dataclass(frozen=True)
class PartnerConfirmationRecord:
    """A partner's confirmation of one booking, as the staff see it."""

    booking_id: str
    kind: BookingKind
    reference: str
    confirmed_by: str
    via: str
    confirmed_at: datetime


class PartnerConfirmationRepository(Repository):
    """Owns the SQL of partners' confirmations."""

    async def booking(self, *, journey_id: str, booking_id: str) -> PartnerBooking | None:
        """The hotel or transfer booking of this journey with this id; None for any other."""
        row = await self._conn.fetchrow(
            """SELECT booking_id, kind, starts_at, ends_at, status FROM bookings
                WHERE journey_id = $1 AND booking_id = $2 AND kind IN ('hotel', 'transfer')""",
            uuid.UUID(journey_id),
            booking_id,
        )
        return None if row is None else PartnerBooking(**{**row, "kind": BookingKind(row["kind"])})

    async def link_used(self, *, token_id: str) -> bool:
        return bool(
            await self._conn.fetchval(
                "SELECT true FROM partner_confirmations WHERE token_id = $1",
                uuid.UUID(token_id),
            )
        )

    async def add(
        self,
        *,
        journey_id: str,
        booking_id: str,
        reference: str,
        confirmed_by: str,
        recorded_by: str,
        token_id: str | None = None,
    ) -> str:
        """Store a confirmation; `AlreadyConfirmed` or `LinkUsed` when one is there already
        for the booking or the link, whoever stored it first (a concurrent second use too)."""
        confirmation_id = uuid.uuid4()
        try:
            await self._conn.execute(
                """INSERT INTO partner_confirmations (confirmation_id, journey_id, booking_id,
                       reference, confirmed_by, via, token_id, recorded_by)
                   VALUES ($1, $2, $3, $4, $5, $6, $7, $8)""",
                confirmation_id,
                uuid.UUID(journey_id),
                booking_id,
                reference,
                confirmed_by,
                "link" if token_id else "console",
                uuid.UUID(token_id) if token_id else None,
                recorded_by,
            )
        except asyncpg.UniqueViolationError:
            # Either key may be the one PostgreSQL names; a used link says the more.
            if token_id and await self.link_used(token_id=token_id):
                raise LinkUsed() from None
            raise AlreadyConfirmed() from None
        return str(confirmation_id)

    async def for_journey(self, *, journey_id: str) -> list[PartnerConfirmationRecord]:
        rows = await self._conn.fetch(
            """SELECT c.booking_id, b.kind, c.reference, c.confirmed_by, c.via, c.confirmed_at
                 FROM partner_confirmations c JOIN bookings b USING (booking_id)
                WHERE c.journey_id = $1
                ORDER BY c.confirmed_at""",
            uuid.UUID(journey_id),
        )
        return [PartnerConfirmationRecord(**{**r, "kind": BookingKind(r["kind"])}) for r in rows]
