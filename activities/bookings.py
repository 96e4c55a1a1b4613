"""Consultation slots and bookings (consult, clinic visit, hotel, transfer).

For now every booking is recorded in PostgreSQL, where the saga can cancel it, and partners
are told by email (the journey sends those). Slots come from the specialists' working hours
and their recorded bookings; calendars over CalDAV and the clinic's FHIR gateway plug in
behind these same activities.
"""

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import asyncpg
from temporalio import activity
from temporalio.exceptions import ApplicationError

from db.bookings import BookingRepository
from db.staff import StaffRepository
from domain.records import Booking, BookingRequest, CancelBooking, Slot, SlotsProposed, SlotsRequest

WORKING_HOURS = (time(9, 0), time(11, 0), time(15, 0))
CONSULT_LENGTH = timedelta(minutes=30)
# A slot offered less than a day ahead cannot be chosen, confirmed and prepared in time.
MIN_NOTICE = timedelta(days=1)


def candidate_slots(
    *, not_before: datetime, tz: ZoneInfo, count: int, busy: set[datetime]
) -> list[tuple[datetime, datetime]]:
    """The first `count` free working-hour slots on weekdays, at least MIN_NOTICE ahead."""
    earliest = not_before + MIN_NOTICE
    day = earliest.astimezone(tz).date()
    found: list[tuple[datetime, datetime]] = []
    while len(found) < count:
        if day.weekday() < 5:
            for hour in WORKING_HOURS:
                start = datetime.combine(day, hour, tzinfo=tz)
                if start >= earliest and start not in busy:
                    found.append((start, start + CONSULT_LENGTH))
                    if len(found) == count:
                        break
        day += timedelta(days=1)
    return found


class BookingActivities:
    """Books and cancels; every call is idempotent by journey and step."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    @activity.defn(name="propose_consult_slots")
    async def propose_consult_slots(self, request: SlotsRequest) -> SlotsProposed:
        async with self._pool.acquire() as conn:
            repo = BookingRepository(conn)
            existing = await repo.slots(request.journey_id, request.round)
            if existing:
                return SlotsProposed(slots=existing)
            specialist = await StaffRepository(conn).least_loaded_specialist()
            if specialist is None:
                raise ApplicationError(
                    "no active specialist in the staff table", type="NoSpecialist"
                )
            tz = ZoneInfo(specialist["time_zone"])
            horizon = request.not_before + timedelta(days=60)
            busy = set(await repo.busy(specialist["staff_id"], request.not_before, horizon))
            slots = [
                Slot(
                    slot_id=f"{request.journey_id}:{request.round}:{i}",
                    starts_at=start,
                    ends_at=end,
                    specialist_id=specialist["staff_id"],
                )
                for i, (start, end) in enumerate(
                    candidate_slots(
                        not_before=request.not_before, tz=tz, count=request.count, busy=busy
                    )
                )
            ]
            await repo.add_slots(request.journey_id, request.round, slots)
            await conn.execute(
                "UPDATE journeys SET specialist_id = $2 WHERE journey_id = $1",
                request.journey_id,
                specialist["staff_id"],
            )
            return SlotsProposed(slots=await repo.slots(request.journey_id, request.round))

    @activity.defn(name="book")
    async def book(self, request: BookingRequest) -> Booking:
        async with self._pool.acquire() as conn:
            return await BookingRepository(conn).book(
                request, booking_id=f"{request.journey_id}:{request.step}"
            )

    @activity.defn(name="cancel_booking")
    async def cancel_booking(self, request: CancelBooking) -> bool:
        async with self._pool.acquire() as conn:
            return await BookingRepository(conn).cancel(request.journey_id, request.booking_id)
