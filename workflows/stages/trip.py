"""TRAVEL once the trip is booked, up to visit day 1: the pre-travel emails, the partners'
confirmations, and changes of dates.

A change of dates is a saga. The new visit is asked of the clinic first (the one that can say
no), then the new hotel and transfer are booked; only once all three are held do the new dates
stand (the change's record is marked applied), the old bookings are cancelled, newest first,
and everyone concerned is told. A failure before that point (the clinic declines, a booking
fails for good or past the policy's patience) cancels what the change had made, quietly for
partners who were never asked, and keeps the old bookings as they were, so a trip never holds
a mix of old and new dates; the patient and the case manager are told, and a coordinator gets
an incident to try the change again, give it up (the old dates stand) or withdraw.

Every booking and email of a change is keyed by the change's attempt (`…-change-<n>`), so a
worker that crashes half-way and a retried activity book, cancel and send each once.

Each hotel and transfer request waits for its partner's confirmation beside the run, in a
task of its own: reminders to the partner, then an incident when the arrival is near.
"""

from temporalio import workflow
from temporalio.exceptions import ActivityError

from workflows.bookings import booking_call
from workflows.endings import Withdrawn
from workflows.moves import Moves
from workflows.timeouts import RECORDS_TIMEOUT

with workflow.unsafe.imports_passed_through():
    from activities.bookings import BookingActivities
    from activities.records import RecordsActivities
    from domain.actors import SYSTEM, Actor
    from domain.clinic_hours import VisitTimes, visit_times
    from domain.incidents import IncidentAction, IncidentKind
    from domain.names import TREATMENT_DATE
    from domain.notifications import Audience, NotificationKind
    from domain.records import (
        Booking,
        BookingKind,
        BookingRequest,
        TravelChangeOutcome,
        TravelChangeStatus,
    )
    from domain.stages import Stage, Task, WaitingOn
    from domain.steps import TravelChange
    from domain.travel_rules import (
        arrival_at,
        change_cutoff,
        partner_due,
        partner_reminders,
        stay,
    )

# What each partner is sent, by the kind of its booking.
_PARTNERS: dict[BookingKind, tuple[NotificationKind, NotificationKind, Audience]] = {
    BookingKind.HOTEL: (
        NotificationKind.HOTEL_REQUEST,
        NotificationKind.HOTEL_REMINDER,
        Audience.HOTEL_PARTNER,
    ),
    BookingKind.TRANSFER: (
        NotificationKind.TRANSFER_REQUEST,
        NotificationKind.TRANSFER_REMINDER,
        Audience.TRANSFER_PARTNER,
    ),
}
_REBOOKED = (BookingKind.CLINIC_VISIT, BookingKind.HOTEL, BookingKind.TRANSFER)
# The emails before the trip, each sent once for the dates that stand when it falls due.
_BEFORE_TRIP = (
    ("travel-checklist", NotificationKind.TRAVEL_CHECKLIST, "Checklist due"),
    ("travel-reminder", NotificationKind.TRAVEL_REMINDER, "Travel reminder"),
)


async def trip(m: Moves) -> None:
    """From the booked trip to the start of visit day 1, changing its dates as often as the
    patient asks before the cutoff."""
    travel = m.state.travel
    travel.changeable = True
    _watch_partners(m, _current(m))
    sent: set[str] = set()
    suffix = ""
    while not await _until_visit(m, sent, suffix):
        if await _change(m):
            suffix = f"-change-{travel.changes}"


def _current(m: Moves) -> list[Booking]:
    """The bookings the trip stands on: visit, hotel and transfer, in booking order."""
    return [b for b in m.state.bookings if b.kind in _REBOOKED and not (b.cancelled or b.completed)]


async def _until_visit(m: Moves, sent: set[str], suffix: str) -> bool:
    """The checklist and the reminder before the trip, the cutoff for changes, then visit
    day 1: True once it has come, False as soon as a change of dates is asked for."""
    p, travel = m.policy, m.state.travel
    assert travel.arrival is not None and travel.visit_day1 is not None
    arrival = arrival_at(travel.arrival)

    def changing() -> bool:
        return travel.change is not None

    due_before_trip = [
        (
            arrival
            - (
                p.travel_checklist_before
                if kind is NotificationKind.TRAVEL_CHECKLIST
                else p.travel_reminder_before
            ),
            step,
            kind,
            summary,
        )
        for step, kind, summary in _BEFORE_TRIP
    ]
    # The cutoff closes changes in the run too, so that every page reads it from the journey
    # rather than from its own clock.
    cutoff = change_cutoff(travel.visit_day1, p)
    for due, step, kind, summary in sorted(
        [*due_before_trip, (cutoff, "", None, "Travel changes close")], key=lambda e: e[0]
    ):
        # Sent for the old dates and already due for the new: the change's email said it.
        if step in sent and due <= workflow.now():
            continue
        if await m.until(changing, due, summary):
            return False
        if kind is None:
            travel.changes_closed = True
            continue
        await m.notify(f"{step}{suffix}", kind)
        sent.add(step)
    return not await m.until(changing, travel.visit_day1, "Visit day 1")


async def _change(m: Moves) -> bool:
    """Carry out the change asked for: True once the new dates stand, False when a
    coordinator gave it up after it failed (the old dates stand)."""
    travel = m.state.travel
    change = travel.change
    assert change is not None
    actor = change.actor
    while True:
        travel.changes += 1
        n = travel.changes
        await m.enter(Stage.TRAVEL, WaitingOn.CLINIC, actor=actor, task=Task.CHANGE_TRAVEL)
        if await _rebook(m, change, n):
            travel.change = None
            return True
        await _record(m, change, TravelChangeStatus.FAILED)
        # The change is a coordinator's now, whatever it last waited on.
        await m.enter(Stage.TRAVEL, WaitingOn.COORDINATOR, task=Task.CHANGE_TRAVEL)
        await m.notify(f"travel-change-failed-{n}", NotificationKind.TRAVEL_CHANGE_FAILED)
        await m.notify(
            f"travel-change-failed-staff-{n}",
            NotificationKind.TRAVEL_CHANGE_FAILED_STAFF,
            Audience.CASE_MANAGER,
        )
        action = await m.incidents.hold(
            IncidentKind.TRAVEL_CHANGE_FAILED,
            step=f"change:{n}",
            actions=m.skippable(),
            settled=lambda: False,
        )
        if action is not IncidentAction.RETRY:
            break
        actor = _resolver(m)
    travel.change = None
    await m.enter(
        Stage.TRAVEL,
        WaitingOn.PATIENT,
        travel.visit_day1,
        actor=_resolver(m),
        task=Task.TRAVEL_TO_CLINIC,
    )
    return False


def _resolver(m: Moves) -> Actor:
    """Who resolved the incident just closed, as its last transition recorded them."""
    last = m.state.transitions[-1] if m.state.transitions else None
    if last is None or last.actor_role == SYSTEM.role.value:
        return SYSTEM
    return Actor.model_validate({"id": last.actor_id, "role": last.actor_role})


async def _rebook(m: Moves, change: TravelChange, n: int) -> bool:
    """Book the new visit, hotel and transfer; once all three are held, the new dates stand
    and the old bookings go. False, with nothing of the new left booked, when one of them
    could not be made."""
    p, travel = m.policy, m.state.travel
    old = _current(m)
    times = visit_times(
        change.arrival_date,
        zone=p.clinic_time_zone,
        day_start=p.visit_day_start,
        day_end=p.visit_day_end,
        admission_after=p.admission_alert_after,
    )
    start, end = stay(change.arrival_date, change.departure_date)
    made: list[Booking] = []
    try:
        held = await _new_visit(m, n, times, made)
        if held:
            for step, kind in (("hotel", BookingKind.HOTEL), ("transfer", BookingKind.TRANSFER)):
                request = BookingRequest(
                    journey_id=m.journey_id,
                    step=f"{step}-change-{n}",
                    kind=kind,
                    starts_at=start,
                    ends_at=end,
                )
                await _attempt(m, request, made)
    except ActivityError:
        held = False
    if not held:
        for booking in reversed(made):
            # Partners hear of a booking only once the change stands: nothing to tell them.
            tell = booking.kind is BookingKind.CLINIC_VISIT and booking.confirm_by_hand
            await m.cancel(booking, _facts(booking, n, undone=True), tell=tell)
        return False
    # The new dates stand from here: what follows only tells and tidies.
    await _record(m, change, TravelChangeStatus.APPLIED)
    travel.arrival, travel.departure = change.arrival_date, change.departure_date
    travel.needs_visa = change.needs_visa
    travel.visit_day1, travel.admission_due = times.day1_start, times.admission_due
    workflow.upsert_search_attributes([TREATMENT_DATE.value_set(times.day1_start)])
    for booking in reversed(old):
        await m.cancel(booking, _facts(booking, n))
    await m.notify(f"travel-changed-{n}", NotificationKind.TRAVEL_CHANGED)
    await m.notify(
        f"travel-changed-staff-{n}", NotificationKind.TRAVEL_CHANGED_STAFF, Audience.CASE_MANAGER
    )
    if change.needs_visa:
        await m.notify(f"visa-letter-change-{n}", NotificationKind.VISA_LETTER)
    partners = made[1:]
    for booking in partners:
        request_kind, _, audience = _PARTNERS[booking.kind]
        await m.notify(
            f"{_step(booking)}-request", request_kind, audience, {"booking_id": booking.booking_id}
        )
    _watch_partners(m, partners)
    await m.enter(
        Stage.TRAVEL, WaitingOn.PATIENT, times.day1_start, actor=SYSTEM, task=Task.TRAVEL_TO_CLINIC
    )
    return True


async def _new_visit(m: Moves, n: int, times: VisitTimes, made: list[Booking]) -> bool:
    """The new visit, once the clinic holds it; False when it refused or declined the dates
    (it is then in `made`, for the saga to cancel)."""
    step = f"clinic-visit-change-{n}"
    request = BookingRequest(
        journey_id=m.journey_id,
        step=step,
        kind=BookingKind.CLINIC_VISIT,
        starts_at=times.day1_start,
        ends_at=times.day2_end,
        time_zone=m.policy.clinic_time_zone,
    )
    visit = await _attempt(m, request, made)
    if not visit.confirm_by_hand:
        return True
    if await clinic_answer(m, step):
        return True
    # The clinic said no to its request: nothing to tell it when the saga cancels it.
    visit.confirm_by_hand = False
    return False


async def clinic_answer(m: Moves, visit_step: str | None) -> bool:
    """Whether the clinic holds the visit, as a coordinator records its answer. The request
    for visit `visit_step` is emailed to the clinic first; None: its system refused the
    visit, and the coordinator arranges the dates with it."""
    travel = m.state.travel
    if visit_step is not None:
        await m.notify(
            f"{visit_step}-request", NotificationKind.CLINIC_VISIT_REQUEST, Audience.CLINIC
        )
    travel.clinic_confirmation = None
    answer = await m.await_step(
        Stage.TRAVEL,
        WaitingOn.COORDINATOR,
        lambda: travel.clinic_confirmation,
        task=Task.RECORD_CLINIC_ANSWER,
    )
    return answer.confirmed


async def _attempt(m: Moves, request: BookingRequest, made: list[Booking]) -> Booking:
    """Book one of the change's new bookings. Unlike `Moves.book` no incident holds it: a
    failure that retrying within the policy's patience cannot fix is the saga's to undo. It
    is in `made` before it is asked for, so that a booking whose answer was lost on the way
    is undone too (a cancellation of a booking never made changes nothing)."""
    made.append(
        Booking(
            booking_id=f"{m.journey_id}:{request.step}",
            kind=request.kind,
            starts_at=request.starts_at,
            ends_at=request.ends_at,
        )
    )
    booking = await booking_call(
        BookingActivities.book,
        request,
        m.policy.outside_patience,
        f"Book {request.kind.value.replace('_', ' ')} for the new dates",
    )
    made[-1] = booking
    m.state.bookings.append(booking)
    return booking


def _facts(booking: Booking, n: int, *, undone: bool = False) -> dict[str, str]:
    """What a cancellation's email says: which booking, and that dates changed (`undone`: a
    change that did not go ahead, its new booking cancelled)."""
    facts = {"booking_id": booking.booking_id, "change": str(n)}
    if undone:
        facts["undone"] = "1"
    return facts


async def _record(m: Moves, change: TravelChange, status: TravelChangeStatus) -> None:
    if change.travel_record_id is None:
        return
    await workflow.execute_activity_method(
        RecordsActivities.record_travel_change,
        TravelChangeOutcome(
            journey_id=m.journey_id, travel_record_id=change.travel_record_id, status=status
        ),
        start_to_close_timeout=RECORDS_TIMEOUT,
        summary=f"Record the change of dates as {status.value}",
    )


def _step(booking: Booking) -> str:
    return booking.booking_id.rsplit(":", 1)[-1]


def _watch_partners(m: Moves, bookings: list[Booking]) -> None:
    """Await each partner's confirmation beside the run."""
    for booking in bookings:
        if booking.kind in _PARTNERS and not booking.confirmed:
            # Each watch returns once the trip is over, whatever the partner did.
            m.beside(_await_partner(m, booking))


async def _await_partner(m: Moves, booking: Booking) -> None:
    """Remind the partner while its request is unconfirmed, then hold an incident for a
    coordinator; done once it is confirmed, cancelled, or the trip is over."""
    p, state = m.policy, m.state
    assert state.travel.arrival is not None
    arrival = arrival_at(state.travel.arrival)
    request, remind, audience = _PARTNERS[booking.kind]
    step, facts = _step(booking), {"booking_id": booking.booking_id}
    requested_at = workflow.now()
    due = partner_due(requested_at, arrival, p)

    def settled() -> bool:
        return booking.confirmed or booking.cancelled or state.stage is not Stage.TRAVEL

    try:
        for i, at in enumerate(partner_reminders(requested_at, due, p), 1):
            if await m.until(settled, at, f"Reminder {i} to the {booking.kind.value} partner"):
                return
            await m.notify(f"{step}-reminder-{i}", remind, audience, facts)
        again = 0
        while not await m.until(settled, due, f"The {booking.kind.value} confirmation due"):
            action = await m.incidents.hold(
                IncidentKind.PARTNER_UNCONFIRMED,
                step=f"confirm:{step}",
                actions=m.skippable(),
                settled=settled,
            )
            if action is not IncidentAction.RETRY:
                return
            again += 1
            await m.notify(f"{step}-request-again-{again}", request, audience, facts)
            due = workflow.now() + p.partner_confirmation_grace
    except Withdrawn:
        # The run ends the journey; nothing is left for this watch to do.
        return
