"""Consultation slots and bookings, each write keyed so a retry returns what the first made."""

from dataclasses import dataclass
from datetime import datetime

from db.repository import Repository
from domain.records import Booking, BookingKind, BookingRequest, Slot


@dataclass(frozen=True)
class BookedWith:
    """What holds a booking: the clinic for a visit, a specialist's calendar for a consult."""

    kind: BookingKind
    specialist_id: str | None
    # The address of the specialist's own calendar, when the staff directory gives one.
    calendar_url: str | None = None


class BookingRepository(Repository):
    """Owns the SQL of consult slots and bookings."""

    async def slots(
        self, *, journey_id: str, round_no: int, follow_up_no: int | None = None
    ) -> list[Slot]:
        """The slots of a round of the first consultation, or of follow-up consult
        `follow_up_no`."""
        rows = await self._conn.fetch(
            """SELECT slot_id, starts_at, ends_at, specialist_id FROM consult_slots
                WHERE journey_id = $1 AND round = $2 AND follow_up_no IS NOT DISTINCT FROM $3
                ORDER BY starts_at""",
            journey_id,
            round_no,
            follow_up_no,
        )
        return [Slot(**r) for r in rows]

    async def offered_before(
        self, *, journey_id: str, round_no: int, follow_up_no: int | None = None
    ) -> list[tuple[datetime, datetime]]:
        """(start, end) of the slots the journey was offered in the consult's earlier rounds."""
        rows = await self._conn.fetch(
            """SELECT starts_at, ends_at FROM consult_slots
                WHERE journey_id = $1 AND round < $2 AND follow_up_no IS NOT DISTINCT FROM $3""",
            journey_id,
            round_no,
            follow_up_no,
        )
        return [(r["starts_at"], r["ends_at"]) for r in rows]

    async def slot_specialist(self, *, journey_id: str, slot_id: str) -> str | None:
        """The specialist a slot offered to the journey is with; None for no such slot."""
        found: str | None = await self._conn.fetchval(
            "SELECT specialist_id FROM consult_slots WHERE journey_id = $1 AND slot_id = $2",
            journey_id,
            slot_id,
        )
        return found

    async def busy(
        self, *, specialist_id: str, start: datetime, end: datetime
    ) -> list[tuple[datetime, datetime]]:
        """(start, end) of the specialist's active consult bookings that overlap [start, end)."""
        rows = await self._conn.fetch(
            """SELECT b.starts_at, b.ends_at FROM bookings b JOIN consult_slots s USING (slot_id)
                WHERE s.specialist_id = $1 AND b.status = 'active'
                  AND b.starts_at < $3 AND b.ends_at > $2""",
            specialist_id,
            start,
            end,
        )
        return [(r["starts_at"], r["ends_at"]) for r in rows]

    async def add_slots(
        self,
        *,
        journey_id: str,
        round_no: int,
        slots: list[Slot],
        follow_up_no: int | None = None,
    ) -> None:
        async with self._conn.transaction():
            for slot in slots:
                await self._conn.execute(
                    """INSERT INTO consult_slots (slot_id, journey_id, round, specialist_id,
                                                  starts_at, ends_at, follow_up_no)
                       VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING""",
                    slot.slot_id,
                    journey_id,
                    round_no,
                    slot.specialist_id,
                    slot.starts_at,
                    slot.ends_at,
                    follow_up_no,
                )

    async def taken_by_another(self, *, journey_id: str, slot_id: str) -> bool:
        """Whether the specialist of a slot offered to the journey has, since, an active
        booking of another journey over its time."""
        taken: bool = await self._conn.fetchval(
            """SELECT EXISTS (
                   SELECT 1 FROM consult_slots s
                     JOIN consult_slots o ON o.specialist_id = s.specialist_id
                     JOIN bookings b ON b.slot_id = o.slot_id
                    WHERE s.journey_id = $1 AND s.slot_id = $2
                      AND b.journey_id <> s.journey_id AND b.status = 'active'
                      AND b.starts_at < s.ends_at AND b.ends_at > s.starts_at)""",
            journey_id,
            slot_id,
        )
        return taken

    async def book(self, *, request: BookingRequest, booking_id: str) -> Booking:
        await self._conn.execute(
            """INSERT INTO bookings (booking_id, journey_id, step, kind, starts_at, ends_at,
                                     slot_id)
               VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (journey_id, step) DO NOTHING""",
            booking_id,
            request.journey_id,
            request.step,
            request.kind.value,
            request.starts_at,
            request.ends_at,
            request.slot_id,
        )
        row = await self._conn.fetchrow(
            "SELECT * FROM bookings WHERE journey_id = $1 AND step = $2",
            request.journey_id,
            request.step,
        )
        return Booking(
            booking_id=row["booking_id"],
            kind=BookingKind(row["kind"]),
            starts_at=row["starts_at"],
            ends_at=row["ends_at"],
            cancelled=row["status"] == "cancelled",
        )

    async def cancel(self, *, journey_id: str, booking_id: str) -> bool:
        """Cancel an active booking; False when it was already cancelled (or unknown)."""
        status = await self._conn.fetchval(
            """UPDATE bookings SET status = 'cancelled', cancelled_at = now()
                WHERE journey_id = $1 AND booking_id = $2 AND status = 'active'
            RETURNING status""",
            journey_id,
            booking_id,
        )
        return status is not None

    async def held_by(self, *, journey_id: str, booking_id: str) -> BookedWith | None:
        """What holds a booking: its kind, and for a consult the specialist whose calendar
        has it."""
        row = await self._conn.fetchrow(
            """SELECT b.kind, s.specialist_id, st.calendar_url FROM bookings b
                 LEFT JOIN consult_slots s USING (slot_id)
                 LEFT JOIN staff st ON st.staff_id = s.specialist_id
                WHERE b.journey_id = $1 AND b.booking_id = $2""",
            journey_id,
            booking_id,
        )
        if row is None:
            return None
        return BookedWith(BookingKind(row["kind"]), row["specialist_id"], row["calendar_url"])

    async def set_external_ref(self, *, journey_id: str, booking_id: str, ref: str) -> None:
        await self._conn.execute(
            "UPDATE bookings SET external_ref = $3 WHERE journey_id = $1 AND booking_id = $2",
            journey_id,
            booking_id,
            ref,
        )
