"""PLAN and TRAVEL: the plan and quote accepted or declined; the patient's dates, the two-day
clinic visit reserved (the clinic may decline the dates, then the patient sends new ones),
the visa letter, hotel and transfer; then the trip (`workflows/stages/trip.py`): the
reminders before it, the partners' confirmations and changes of dates."""

from datetime import UTC, datetime, time

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError

from workflows.endings import Ended, Withdrawn
from workflows.moves import Moves
from workflows.stages.trip import clinic_answer, trip

with workflow.unsafe.imports_passed_through():
    from domain.actors import SYSTEM
    from domain.clinic_hours import UTC_CLOCK, VISIT_DAY_END, VISIT_DAY_START, visit_times
    from domain.errors import ActivityFailure
    from domain.names import TREATMENT_DATE
    from domain.notifications import Audience, NotificationKind
    from domain.reasons import EndingReason, NoticeReason
    from domain.records import Booking, BookingKind, BookingRequest
    from domain.stages import Stage, Task, WaitingOn
    from domain.steps import Withdrawal

MAX_VISIT_REQUESTS = 5
# Patch: the visit days' hours and the admission's deadline on the clinic's clock (the
# policy's zone and hours) instead of 08:00 to 18:00 UTC.
CLINIC_LOCAL_VISIT_HOURS = "clinic-local-visit-hours"
# Patch: from the booked trip on, its dates can change and partners' confirmations are awaited
# (workflows/stages/trip.py); a trip booked before sleeps until the visit as it always did.
TRAVEL_CHANGES = "travel-changes"


async def plan(m: Moves) -> None:
    p, state = m.policy, m.state
    start = workflow.now()
    valid_until = start + p.quote_validity
    await m.ask_patient(
        Stage.PLAN,
        task=Task.DECIDE_PLAN,
        actor=state.actor_of_next,
        answered=lambda: state.plan.decision is not None,
        start=start,
        give_up_after=p.quote_validity,
        reminders=p.quote_reminders,
        request=("plan-and-quote", NotificationKind.PLAN_AND_QUOTE),
        reminder=("plan-reminder", NotificationKind.PLAN_REMINDER),
        facts={"quote_valid_until": valid_until.date().isoformat()},
        deadline_summary="Quote expiry",
        lost=EndingReason.QUOTE_EXPIRED,
    )
    decision = state.plan.decision
    assert decision is not None
    if not decision.accept:
        state.withdrawal = Withdrawal(actor=decision.actor)
        state.ending_reason = EndingReason.PLAN_DECLINED
        raise Withdrawn


async def travel(m: Moves) -> None:
    p, state, steps = m.policy, m.state, m.state.travel
    assert state.plan.decision is not None
    actor = state.plan.decision.actor
    # The clinic may decline the dates it is asked for; the patient then sends new ones.
    # The first round keeps the step names journeys always had.
    for attempt in range(1, MAX_VISIT_REQUESTS + 1):
        sfx = "" if attempt == 1 else f"-{attempt}"
        await m.ask_patient(
            Stage.TRAVEL,
            task=Task.SEND_TRAVEL_DETAILS,
            actor=actor,
            answered=lambda: steps.details is not None,
            start=workflow.now(),
            give_up_after=p.travel_details_timeout,
            reminders=p.travel_details_reminders,
            request=(f"travel-details-request{sfx}", NotificationKind.TRAVEL_DETAILS_REQUEST),
            reminder=(f"travel-details-reminder{sfx}", NotificationKind.TRAVEL_DETAILS_REMINDER),
            deadline_summary="Travel details deadline",
            lost=EndingReason.NO_TRAVEL_DETAILS,
        )
        details = steps.details
        assert details is not None
        if workflow.patched(CLINIC_LOCAL_VISIT_HOURS):
            zone, opens, closes = p.clinic_time_zone, p.visit_day_start, p.visit_day_end
            clinic_zone: str | None = zone
        else:
            zone, opens, closes, clinic_zone = UTC_CLOCK, VISIT_DAY_START, VISIT_DAY_END, None
        times = visit_times(
            details.arrival_date,
            zone=zone,
            day_start=opens,
            day_end=closes,
            admission_after=p.admission_alert_after,
        )
        day1, day2_end = times.day1_start, times.day2_end
        steps.visit_day1, steps.admission_due = day1, times.admission_due
        workflow.upsert_search_attributes([TREATMENT_DATE.value_set(day1)])
        await m.enter(Stage.TRAVEL, WaitingOn.CLINIC, actor=details.actor, task=Task.RESERVE_VISIT)
        if await _reserve_visit(m, f"clinic-visit{sfx}", day1, day2_end, clinic_zone):
            break
        actor = steps.clinic_confirmation.actor if steps.clinic_confirmation else SYSTEM
        steps.details = None
    else:
        raise Ended(Stage.LOST_CONTACT, NotificationKind.LOST_CONTACT, EndingReason.NO_VISIT_DATES)
    arrival = datetime.combine(details.arrival_date, time(12, 0), tzinfo=UTC)
    departure = datetime.combine(details.departure_date, time(12, 0), tzinfo=UTC)
    await m.notify("visit-confirmed", NotificationKind.VISIT_CONFIRMED)
    if details.needs_visa:
        await m.notify("visa-letter", NotificationKind.VISA_LETTER)
    for step, kind, notice, partner in (
        ("hotel", BookingKind.HOTEL, NotificationKind.HOTEL_REQUEST, Audience.HOTEL_PARTNER),
        (
            "transfer",
            BookingKind.TRANSFER,
            NotificationKind.TRANSFER_REQUEST,
            Audience.TRANSFER_PARTNER,
        ),
    ):
        await m.book(
            BookingRequest(
                journey_id=m.journey_id,
                step=step,
                kind=kind,
                starts_at=arrival,
                ends_at=departure,
            )
        )
        await m.notify(f"{step}-request", notice, partner)
    await m.enter(Stage.TRAVEL, WaitingOn.PATIENT, day1, task=Task.TRAVEL_TO_CLINIC)
    if workflow.patched(TRAVEL_CHANGES):
        steps.arrival, steps.departure = details.arrival_date, details.departure_date
        steps.needs_visa = details.needs_visa
        await trip(m)
        return
    await m.sleep_until(arrival - p.travel_checklist_before, "Checklist due")
    await m.notify("travel-checklist", NotificationKind.TRAVEL_CHECKLIST)
    await m.sleep_until(arrival - p.travel_reminder_before, "Travel reminder")
    await m.notify("travel-reminder", NotificationKind.TRAVEL_REMINDER)
    await m.sleep_until(day1, "Visit day 1")


async def _reserve_visit(
    m: Moves, step: str, day1: datetime, day2_end: datetime, zone: str | None
) -> bool:
    """Reserve the two-day visit; True once the clinic holds it.

    A clinic that confirms by hand gets the request by email and a coordinator records its
    answer; a clinic API that refuses the request leaves the coordinator to arrange it.
    """
    request = BookingRequest(
        journey_id=m.journey_id,
        step=step,
        kind=BookingKind.CLINIC_VISIT,
        starts_at=day1,
        ends_at=day2_end,
        time_zone=zone,
    )
    visit: Booking | None
    try:
        visit = await m.book(request)
    except ActivityError as err:
        refused = ActivityFailure.CLINIC_REJECTED
        if not (isinstance(err.cause, ApplicationError) and err.cause.type == refused):
            raise
        visit = None
        await m.notify(
            f"{step}-problem",
            NotificationKind.CLINIC_VISIT_PROBLEM,
            Audience.COORDINATORS,
            {"reason": NoticeReason.CLINIC_REJECTED},
        )
    if visit is not None and not visit.confirm_by_hand:
        return True
    if await clinic_answer(m, step if visit is not None else None):
        return True
    if visit is not None:
        visit.confirm_by_hand = False  # the clinic said no: nothing to cancel with it
        await m.cancel(visit)
    return False
