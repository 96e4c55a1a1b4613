"""The patient's page as its template shows it: what the journey asks of the patient now, whom
it waits on and until when, and what is booked, in the patient's language and time zone.

Each section is shown only when the journey would take its step now: the status's `expects`,
which the journey's own validators decide (and which stay true while an incident is open, as
the journey still takes those steps then).
"""

from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal

from babel.numbers import format_compact_decimal, format_decimal
from babel.units import format_unit

from activities.wording import document_name, follow_up_label
from api.journey_access import patient_view
from db.patient_page import CheckinOnPage, DocumentOnPage, PatientOnPage, PlanOnPage, TravelOnPage
from domain.clinic_hours import CLINIC_TIME_ZONE, clinic_days_later
from domain.follow_up import ConsultPhase, FollowUpStatus
from domain.incidents import IncidentKind
from domain.journey import JourneyStatus
from domain.policy import JourneyPolicy
from domain.records import Booking, BookingKind
from domain.rehab import short_of_six
from domain.stages import Stage, Task, WaitingOn
from domain.step_declarations import StepName
from domain.steps import DocumentKind
from i18n import (
    N_,
    format_clinic_moment,
    format_day,
    format_moment,
    format_money,
    format_two_zone_moment,
    locale,
    translations,
    zone_city,
)

PROGRESS: list[tuple[Stage, str]] = [
    (Stage.VALIDATION, N_("Medical review")),
    (Stage.CASE_MANAGER, N_("Case manager")),
    (Stage.TELECONSULT, N_("Consultation")),
    (Stage.PLAN, N_("Treatment plan")),
    (Stage.TRAVEL, N_("Travel")),
    (Stage.TREATMENT, N_("Treatment")),
    (Stage.FOLLOW_UP, N_("Follow-up year")),
]
_NEXT_WITH: dict[WaitingOn, str] = {
    WaitingOn.PATIENT: N_("The next step is yours."),
    WaitingOn.REVIEWER: N_("The next step is with a medical reviewer."),
    WaitingOn.SPECIALIST: N_("The next step is with the specialist."),
    WaitingOn.CLINIC: N_("The next step is with the clinic."),
    WaitingOn.COORDINATOR: N_("The next step is with our coordinators."),
    WaitingOn.CASE_MANAGER: N_("Your case manager will be in touch with you."),
    WaitingOn.NONE: N_("The next step is with our team."),
}


@dataclass(frozen=True)
class PageRecords:
    """What the page reads besides the journey's status."""

    patient: PatientOnPage
    plan: PlanOnPage | None = None
    documents: list[DocumentOnPage] = field(default_factory=list)
    travel: TravelOnPage | None = None
    checkins: list[CheckinOnPage] = field(default_factory=list)
    follow_up: FollowUpStatus | None = None


class Words:
    """The patient's language and time zone, the clinic's zone, and the page's ways of writing
    in them."""

    def __init__(self, language: str, tz: str, clinic_tz: str = CLINIC_TIME_ZONE) -> None:
        self.language, self.tz, self.clinic_tz = language, tz, clinic_tz
        self._t = translations(language)

    def gettext(self, message: str, **values: object) -> str:
        """`message` from the catalogue, its `%(name)s` placeholders filled from `values`."""
        text = self._t.gettext(message)
        return text % values if values else text

    def moment(self, value: datetime | None) -> str:
        return format_moment(value, self.language, self.tz)

    def at_clinic(self, value: datetime | None) -> str:
        """A time at the clinic: on its clock, and on the patient's where that differs."""
        return format_clinic_moment(value, self.language, self.clinic_tz, self.tz)

    def day(self, value: object) -> str:
        return format_day(value, self.language, self.tz)  # type: ignore[arg-type]

    def number(self, value: Decimal | int) -> str:
        return format_decimal(value, locale=locale(self.language))

    def size(self, n_bytes: int) -> str:
        """`64 kB`, `2,5 MB`, `10 MB`: a file's size as the reader writes it."""
        place = locale(self.language)
        if n_bytes < 1024 * 1024:
            kilobytes = max(1, round(n_bytes / 1024))
            return format_unit(kilobytes, "digital-kilobyte", length="short", locale=place)
        megabytes = Decimal(n_bytes) / (1024 * 1024)
        amount = megabytes.quantize(Decimal("1" if megabytes >= 10 else "0.1"))
        return format_unit(amount, "digital-megabyte", length="short", locale=place)

    def document(self, kind: str) -> str:
        return document_name(kind, self.language)


def booking_line(words: Words, booking: Booking, confirms_partners: bool = False) -> str:
    """A booking in a line; a hotel's or transfer's with whether its partner has confirmed
    it, on journeys that wait for partners' confirmations."""
    line = _booking_line(words, booking)
    if not confirms_partners or booking.kind not in (BookingKind.HOTEL, BookingKind.TRANSFER):
        return line
    if booking.confirmed:
        return words.gettext("%(booking)s (confirmed)", booking=line)
    return words.gettext("%(booking)s (waiting for confirmation)", booking=line)


def _booking_line(words: Words, booking: Booking) -> str:
    match booking.kind:
        case BookingKind.CONSULT:
            return words.gettext(
                "Video consultation: %(when)s", when=words.moment(booking.starts_at)
            )
        case BookingKind.CLINIC_VISIT:
            # When each day starts, as the clinic's clock and the patient's show it.
            day2 = clinic_days_later(booking.starts_at, 1, words.clinic_tz)
            return words.gettext(
                "Clinic visit: %(day1)s and %(day2)s",
                day1=words.at_clinic(booking.starts_at),
                day2=words.at_clinic(day2),
            )
        case BookingKind.HOTEL:
            return words.gettext(
                "Hotel: from %(start)s to %(end)s",
                start=words.day(booking.starts_at),
                end=words.day(booking.ends_at),
            )
        case _:
            return words.gettext(
                "Airport transfers: %(start)s and %(end)s",
                start=words.day(booking.starts_at),
                end=words.day(booking.ends_at),
            )


def active(status: JourneyStatus) -> list[Booking]:
    """What is booked and still to come, in booking order."""
    return [b for b in status.bookings if not b.cancelled and not b.completed]


def next_step(words: Words, status: JourneyStatus) -> list[str]:
    """In plain words: on whom the journey waits, and until when."""
    if status.stage.is_final:
        return []
    if status.incident is not None:
        return [
            words.gettext(
                "The next step is with our coordinators, who are sorting out a problem on our "
                "side since %(since)s. You do not need to do anything for it.",
                since=words.moment(status.incident.since),
            )
        ]
    waits_on, deadline = status.waiting_on, status.deadline
    visit = any(b.kind is BookingKind.CLINIC_VISIT for b in active(status))
    if status.stage is Stage.TRAVEL and waits_on is WaitingOn.PATIENT and visit:
        return [
            words.gettext("The next step is yours: your trip to the clinic."),
            words.gettext("Your visit starts on %(when)s.", when=words.at_clinic(deadline)),
        ]
    lines = [words.gettext(_NEXT_WITH[waits_on])]
    if waits_on is WaitingOn.PATIENT:
        if deadline is not None:
            lines.append(words.gettext("Please answer by %(when)s.", when=words.moment(deadline)))
    elif deadline is not None:
        lines.append(
            words.gettext("We expect their answer by %(when)s.", when=words.moment(deadline))
        )
    else:
        lines.append(
            words.gettext("There is no set date: we will write to you as soon as it moves on.")
        )
    return lines


def progress(words: Words, stage: Stage) -> list[tuple[str, str]]:
    """Each stage of the journey with `done`, `current` or `todo`, while it runs."""
    if stage.is_final:
        return []
    at = next((i for i, (s, _) in enumerate(PROGRESS) if s is stage), -1)
    return [
        (words.gettext(label), "done" if i < at else "current" if i == at else "todo")
        for i, (_, label) in enumerate(PROGRESS)
    ]


def documents_section(words: Words, status: JourneyStatus, records: PageRecords) -> dict | None:
    if StepName.DOCUMENTS not in status.expects:
        return None
    asked = status.documents_requested or [DocumentKind.OTHER]
    return {
        "requested": [(kind.value, words.document(kind)) for kind in asked],
        "uploaded": [
            (words.document(d.kind), d.filename, words.size(d.size_bytes), words.day(d.uploaded_at))
            for d in records.documents
        ],
    }


def consult_section(
    words: Words, status: JourneyStatus, now: datetime, specialist_tz: str | None = None
) -> dict | None:
    """The times offered, or the consultation booked, on the patient's clock and, where it
    shows another time, on the specialist's (`specialist_tz`)."""

    def at(value: datetime) -> str:
        return format_two_zone_moment(value, words.language, words.tz, specialist_tz)

    if StepName.BOOK_CONSULT in status.expects and status.offered_slots:
        slots = sorted(status.offered_slots, key=lambda s: s.starts_at)
        return {
            "slots": [(s.slot_id, at(s.starts_at)) for s in slots],
            "minutes": int((slots[0].ends_at - slots[0].starts_at).total_seconds() // 60),
            "other_clock": any(at(s.starts_at) != words.moment(s.starts_at) for s in slots),
        }
    consult = next((b for b in active(status) if b.kind is BookingKind.CONSULT), None)
    if StepName.RESCHEDULE_CONSULT in status.expects and consult is not None:
        # Whether the consultation has started is the validator's to say when it is sent: a
        # status reads the journey's clock as of its last move.
        return {"booked": at(consult.starts_at), "movable": consult.starts_at > now}
    return None


def follow_up_consults(
    words: Words, follow_up: FollowUpStatus | None, now: datetime, specialist_tz: str | None
) -> list[dict]:
    """Each follow-up consult being booked: the times offered to choose from (on the
    patient's clock and, where it shows another time, the specialist's), or the time booked
    and whether it can still be moved. A consult the year no longer books is not shown."""

    def at(value: datetime) -> str:
        return format_two_zone_moment(value, words.language, words.tz, specialist_tz)

    shown = []
    for consult in follow_up.consults if follow_up else []:
        if consult.phase is ConsultPhase.CLOSED:
            continue
        label = follow_up_label(str(consult.number), words.language)
        entry: dict = {"number": consult.number, "label": label}
        if StepName.BOOK_FOLLOW_UP in consult.expects and consult.offered:
            slots = sorted(consult.offered, key=lambda s: s.starts_at)
            entry |= {
                "slots": [(s.slot_id, at(s.starts_at)) for s in slots if s.starts_at > now],
                "minutes": int((slots[0].ends_at - slots[0].starts_at).total_seconds() // 60),
                "other_clock": any(at(s.starts_at) != words.moment(s.starts_at) for s in slots),
                "choose_by": words.moment(consult.choose_by),
            }
        elif consult.booking is not None and consult.phase is ConsultPhase.BOOKED:
            entry |= {
                "booked": at(consult.booking.starts_at),
                "movable": StepName.RESCHEDULE_FOLLOW_UP in consult.expects
                and consult.booking.starts_at > now,
            }
        else:
            entry["booking"] = consult.phase is ConsultPhase.BOOKING
        shown.append(entry)
    return shown


def follow_up_bookings(words: Words, follow_up: FollowUpStatus | None) -> list[str]:
    """The follow-up consults booked and still to be held, as "What is booked" lists them."""
    return [
        words.gettext(
            "Follow-up consultation %(number)s: %(when)s",
            number=c.number,
            when=words.moment(c.booking.starts_at),
        )
        for c in (follow_up.consults if follow_up else [])
        if c.booking is not None and c.phase is ConsultPhase.BOOKED
    ]


def plan_section(words: Words, status: JourneyStatus, records: PageRecords) -> dict | None:
    plan = records.plan
    if StepName.PLAN_DECISION not in status.expects or plan is None:
        return None
    cells = format_compact_decimal(
        plan.cells_target, format_type="long", locale=locale(words.language)
    )
    return {
        "cells": cells,
        "price": format_money(plan.price, plan.currency, words.language),
        "valid_until": words.moment(status.deadline),
        "notes": plan.notes,
    }


def travel_section(words: Words, status: JourneyStatus, records: PageRecords) -> dict | None:
    if status.stage is not Stage.TRAVEL:
        return None
    asks = StepName.TRAVEL in status.expects
    sent = records.travel
    return {
        "form": asks,
        "sent": {
            "arrival": words.day(sent.arrival_date),
            "departure": words.day(sent.departure_date),
            "flights": ", ".join(f for f in (sent.arrival_flight, sent.departure_flight) if f),
            "visa": sent.needs_visa,
        }
        if sent is not None and not asks
        else None,
        "change": change_section(words, status, records),
    }


def change_section(words: Words, status: JourneyStatus, records: PageRecords) -> dict | None:
    """Changing the booked trip's dates: under way; open until the cutoff, with the dates
    that stand filled in; or closed, once the journey has closed changes at the cutoff,
    which names whom to ask, and the number to call them on when their phone is on file. The
    journey's reading, not the page's clock: the validator holds a change sent a moment after
    the cutoff to the cutoff all the same."""
    if status.task is Task.CHANGE_TRAVEL or (
        status.incident is not None and status.incident.kind is IncidentKind.TRAVEL_CHANGE_FAILED
    ):
        return {"under_way": True}
    until = status.travel_change_until
    if until is None:
        return None
    if StepName.CHANGE_TRAVEL not in status.expects:
        return {
            "closed": True,
            "until": words.moment(until),
            "call": records.patient.case_manager_phone or None,
        }
    sent = records.travel
    current = (
        {
            "arrival_date": sent.arrival_date.isoformat(),
            "departure_date": sent.departure_date.isoformat(),
            "arrival_flight": sent.arrival_flight,
            "departure_flight": sent.departure_flight,
            "companions": str(sent.companions),
            "needs_visa": "yes" if sent.needs_visa else "",
        }
        if sent is not None
        else {}
    )
    return {"open": True, "until": words.moment(until), "current": current}


def week_of(status: JourneyStatus, now: datetime, policy: JourneyPolicy) -> int:
    """The week of rehabilitation `now` falls in, counted from the discharge (week 1)."""
    started = next((t.entered_at for t in status.transitions if t.stage is Stage.FOLLOW_UP), now)
    return max(1, (now - started) // policy.rehab_checkin_every + 1)


def checkin_section(
    words: Words, status: JourneyStatus, records: PageRecords, now: datetime
) -> dict | None:
    if StepName.REHAB_CHECKIN not in status.expects:
        return None
    policy = JourneyPolicy()
    received = set(records.follow_up.checkins_received if records.follow_up else [])
    sent = {c.week: c for c in records.checkins if c.week in received}
    current = min(week_of(status, now, policy), policy.rehab_weeks)
    missing = [w for w in range(1, current + 1) if w not in received]
    # The week under way if it is missing, else the latest missed one, else the next to come.
    upcoming = (w for w in range(1, policy.rehab_weeks + 1) if w not in received)
    return {
        "weeks": policy.rehab_weeks,
        "week": missing[-1] if missing else next(upcoming, policy.rehab_weeks),
        "received": [
            {
                "week": week,
                "hours": words.number(c.walking_hours_per_day),
                "days": c.days_per_week,
                "short": short_of_six(c.walking_hours_per_day, c.days_per_week),
            }
            for week, c in sorted(sent.items())
        ],
    }


def page_context(
    words: Words, status: JourneyStatus, records: PageRecords, *, now: datetime | None = None
) -> dict:
    """Everything the patient's page template shows, but the forms' own values and errors."""
    now = now or datetime.now(UTC)
    view = patient_view(status, words.language)
    patient = records.patient
    return {
        "headline": view.message,
        "stage": status.stage.value,
        "final": status.stage.is_final,
        "progress": progress(words, status.stage),
        "next_step": next_step(words, status),
        "documents": documents_section(words, status, records),
        "consult": consult_section(words, status, now, patient.specialist_time_zone),
        "plan": plan_section(words, status, records),
        "travel": travel_section(words, status, records),
        "checkin": checkin_section(words, status, records, now),
        "follow_ups": follow_up_consults(
            words, records.follow_up, now, patient.specialist_time_zone
        )
        if status.stage is Stage.FOLLOW_UP
        else [],
        "bookings": [booking_line(words, b, status.confirms_partners) for b in active(status)]
        + follow_up_bookings(words, records.follow_up),
        "can_withdraw": StepName.WITHDRAW in status.expects,
        "time_zone": words.tz,
        # The visit's times are the clinic's too, where its clock shows another time.
        "clinic_city": zone_city(words.clinic_tz, words.language)
        if any(b.kind is BookingKind.CLINIC_VISIT for b in active(status))
        else None,
        "case_manager": (patient.case_manager_name, patient.case_manager_email)
        if patient.case_manager_email
        else None,
    }
