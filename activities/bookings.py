"""Consultation slots and bookings (consult, clinic visit, hotel, transfer).

Every booking is recorded in PostgreSQL, where the saga can cancel it. Consults also go into
the specialist's CalDAV calendar (free/busy decides which slots are offered; the event's UID
is the booking's, so a retry overwrites it). Hotel and transfer partners are told by email
(the journey sends those).
"""

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import asyncpg
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.failures import final, found, redact
from db.bookings import BookingRepository
from db.journey_queries import JourneyQueries
from db.journeys import JourneyRepository
from db.staff import Specialist, StaffRepository
from domain.errors import ActivityFailure
from domain.records import (
    Booking,
    BookingKind,
    BookingRequest,
    CancelBooking,
    Slot,
    SlotsProposed,
    SlotsRequest,
)
from domain.working_hours import consult_slots
from integrations.calendar import (
    CalendarClient,
    CalendarUnavailable,
    ConsultEvent,
    specialist_calendar,
)
from integrations.clinic import ClinicGateway, ClinicRejected, ClinicUnavailable, VisitRequest

log = logging.getLogger(__name__)

# A slot offered less than a day ahead cannot be chosen, confirmed and prepared in time.
MIN_NOTICE = timedelta(days=1)
# How far ahead slots are looked for.
HORIZON = timedelta(days=60)


class BookingActivities:
    """Books and cancels; every call is idempotent by journey and step."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        calendar: CalendarClient | None = None,
        video_link_base: str = "",
        clinic: ClinicGateway | None = None,
    ) -> None:
        self._pool = pool
        self._calendar = calendar
        self._clinic = clinic
        self._video_link_base = video_link_base.rstrip("/")

    @activity.defn(name="propose_consult_slots")
    async def propose_consult_slots(self, request: SlotsRequest) -> SlotsProposed:
        """The round's slots: kept if already proposed (a retry), else the free times in the
        working hours of the least loaded active specialist who has any (the next one when
        their calendar and bookings leave none), on their clock (domain/working_hours.py).

        A follow-up consult's are with the journey's own specialist while they are active and
        have free times then; else, as for the first consultation, with the least loaded one
        who has, who becomes the journey's specialist."""
        follow_up = request.follow_up_no
        async with self._pool.acquire() as conn:
            repo = BookingRepository(conn)
            existing = await repo.slots(
                journey_id=request.journey_id, round_no=request.round, follow_up_no=follow_up
            )
            if existing:
                return SlotsProposed(slots=existing)
            staff = StaffRepository(conn)
            specialists = await staff.specialists_by_load()
            if follow_up is not None:
                own = await staff.journey_specialist(journey_id=request.journey_id)
                if own is not None:
                    others = [s for s in specialists if s.staff_id != own.staff_id]
                    specialists = [own, *others]
            for specialist in specialists:
                found = await self._free_slots(repo, specialist, request)
                if found:
                    break
            else:
                # A coordinator adds or reactivates a specialist, or gives one working hours,
                # then retries the incident.
                raise final(
                    ActivityFailure.NO_SPECIALIST,
                    "no active specialist with free working hours in the staff table",
                )
            series = f"{request.round}" if follow_up is None else f"f{follow_up}.{request.round}"
            slots = [
                Slot(
                    slot_id=f"{request.journey_id}:{series}:{i}",
                    starts_at=start,
                    ends_at=end,
                    specialist_id=specialist.staff_id,
                )
                for i, (start, end) in enumerate(found)
            ]
            await repo.add_slots(
                journey_id=request.journey_id,
                round_no=request.round,
                slots=slots,
                follow_up_no=follow_up,
            )
            await JourneyRepository(conn).set_specialist(
                journey_id=request.journey_id, staff_id=specialist.staff_id
            )
            return SlotsProposed(
                slots=await repo.slots(
                    journey_id=request.journey_id, round_no=request.round, follow_up_no=follow_up
                )
            )

    async def _free_slots(
        self, repo: BookingRepository, specialist: Specialist, request: SlotsRequest
    ) -> list[tuple[datetime, datetime]]:
        """The specialist's first free slots for the request, minus their bookings, what their
        calendar holds and the times the journey was offered in its earlier rounds."""
        tz = ZoneInfo(specialist.time_zone)
        earliest = request.not_before + MIN_NOTICE
        if request.earliest is not None:
            earliest = max(earliest, request.earliest)
        until = request.until or request.not_before + HORIZON
        busy = await repo.busy(specialist_id=specialist.staff_id, start=earliest, end=until)
        # New times are new: none the journey was offered before (and did not take) again.
        busy += await repo.offered_before(
            journey_id=request.journey_id,
            round_no=request.round,
            follow_up_no=request.follow_up_no,
        )
        if self._calendar is not None:
            calendar_id = specialist_calendar(specialist.staff_id, specialist.calendar_url)
            with outside_failures(request.journey_id):
                await self._calendar.ensure_calendar(calendar_id, f"Consults {specialist.staff_id}")
                busy += await self._calendar.busy(calendar_id, earliest, until, tz=tz)
        return consult_slots(
            hours=specialist.hours,
            tz=tz,
            length=timedelta(minutes=specialist.consult_minutes),
            earliest=earliest,
            until=until,
            count=request.count,
            busy=busy,
        )

    @activity.defn(name="book")
    async def book(self, request: BookingRequest) -> Booking:
        async with self._pool.acquire() as conn:
            repo = BookingRepository(conn)
            booking = await repo.book(
                request=request, booking_id=f"{request.journey_id}:{request.step}"
            )
            held = await repo.held_by(journey_id=request.journey_id, booking_id=booking.booking_id)
        specialist = held.specialist_id if held else None
        if self._calendar is not None and held and specialist and not booking.cancelled:
            with outside_failures(request.journey_id):
                await self._calendar.put_event(
                    specialist_calendar(specialist, held.calendar_url),
                    self.consult_event(request.journey_id, booking, request.follow_up_no),
                )
        if request.kind is BookingKind.CLINIC_VISIT and self._clinic is not None:
            booking = await self._reserve_visit(request, booking)
        return booking

    async def _reserve_visit(self, request: BookingRequest, booking: Booking) -> Booking:
        async with self._pool.acquire() as conn:
            patient = found(
                await JourneyQueries(conn).patient(journey_id=request.journey_id),
                ActivityFailure.RECORD_NOT_FOUND,
                "no patient record for this journey",
            )
        # On the clinic's clock, so that its system reads the days as its staff do.
        clock = ZoneInfo(request.time_zone) if request.time_zone else UTC
        visit = VisitRequest(
            journey_id=request.journey_id,
            patient_id=patient.patient_id,
            full_name=patient.full_name,
            email=patient.email,
            phone=patient.phone,
            country=patient.country,
            preferred_language=patient.preferred_language,
            day1_start=request.starts_at.astimezone(clock),
            day2_end=request.ends_at.astimezone(clock),
            visit_key=visit_key(request.step),
        )
        assert self._clinic is not None
        try:
            with outside_failures(request.journey_id):
                reservation = await self._clinic.reserve_visit(visit)
        except ApplicationError as err:
            if err.type == ActivityFailure.CLINIC_REJECTED:
                async with self._pool.acquire() as conn:
                    await BookingRepository(conn).cancel(
                        journey_id=request.journey_id, booking_id=booking.booking_id
                    )
            raise
        async with self._pool.acquire() as conn:
            await BookingRepository(conn).set_external_ref(
                journey_id=request.journey_id,
                booking_id=booking.booking_id,
                ref=reservation.reference,
            )
        return booking.model_copy(update={"confirm_by_hand": reservation.status == "pending"})

    def consult_event(
        self, journey_id: str, booking: Booking, follow_up_no: int | None = None
    ) -> ConsultEvent:
        """The calendar event of a consult; ids only, the patient's name stays in the record."""
        uid = booking_uid(booking.booking_id)
        reference = journey_id.split("-", 1)[0].upper()
        return ConsultEvent(
            uid=uid,
            start=booking.starts_at,
            end=booking.ends_at,
            summary=f"Teleconsultation {reference}"
            if follow_up_no is None
            else f"Follow-up consultation {follow_up_no} {reference}",
            description=f"Journey {journey_id}. Patient details are in the staff tools.",
            video_link=f"{self._video_link_base}/{uid}",
        )

    @activity.defn(name="cancel_booking")
    async def cancel_booking(self, request: CancelBooking) -> bool:
        async with self._pool.acquire() as conn:
            repo = BookingRepository(conn)
            cancelled = await repo.cancel(
                journey_id=request.journey_id, booking_id=request.booking_id
            )
            held = await repo.held_by(journey_id=request.journey_id, booking_id=request.booking_id)
        if held is None:
            return cancelled
        with outside_failures(request.journey_id):
            if self._clinic is not None and held.kind is BookingKind.CLINIC_VISIT:
                step = request.booking_id.partition(":")[2]
                await self._clinic.cancel_visit(request.journey_id, visit_key(step))
            specialist = held.specialist_id
            if self._calendar is not None and specialist:
                # Deleted even when the record was cancelled before: a retry after a crash
                # between the two must still clear the calendar.
                await self._calendar.delete_event(
                    specialist_calendar(specialist, held.calendar_url),
                    booking_uid(request.booking_id),
                )
        return cancelled


@contextmanager
def outside_failures(journey_id: str) -> Iterator[None]:
    """The calendar's and the clinic's failures as coded activity failures.

    What the clinic or the calendar server answered (a FHIR OperationOutcome's diagnostics can
    name the patient) goes to the log, redacted, with the journey's id; the failure Temporal
    records names the kind only.
    """
    try:
        yield
    except CalendarUnavailable as err:
        log.warning("calendar unavailable for journey %s: %s", journey_id, redact(str(err)))
        raise ApplicationError(
            "calendar server unavailable", type=ActivityFailure.CALENDAR_UNAVAILABLE
        ) from None
    except ClinicUnavailable as err:
        log.warning("clinic unavailable for journey %s: %s", journey_id, redact(str(err)))
        raise ApplicationError(
            "clinic system unavailable", type=ActivityFailure.CLINIC_UNAVAILABLE
        ) from None
    except ClinicRejected as err:
        log.warning("clinic refused for journey %s: %s", journey_id, redact(str(err)))
        raise final(
            ActivityFailure.CLINIC_REJECTED,
            "the clinic refused the request",
        ) from None


# A change of dates books its visit beside the one it replaces (workflows/stages/trip.py).
_CHANGE_VISIT = "clinic-visit-change-"


def visit_key(step: str) -> str:
    """Which of a journey's visits a booking step holds at the clinic: the first one, whose
    requests after the clinic declined dates replace it in turn (""), or a change's (`c<n>`),
    held beside the old visit until the change stands."""
    return f"c{step.removeprefix(_CHANGE_VISIT)}" if step.startswith(_CHANGE_VISIT) else ""


def booking_uid(booking_id: str) -> str:
    """A booking's calendar UID: stable, and safe in a URL."""
    return booking_id.replace(":", "-")
