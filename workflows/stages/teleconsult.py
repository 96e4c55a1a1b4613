"""TELECONSULT: slots proposed from the specialist's calendar, one booked by the patient,
reminders, and the specialist's outcome; a reschedule, a no-show or other times asked for
before one is chosen start a new round."""

import itertools

from temporalio import workflow

from workflows.bookings import propose_slots
from workflows.endings import Ended
from workflows.moves import Moves

with workflow.unsafe.imports_passed_through():
    from domain.notifications import Audience, NotificationKind
    from domain.reasons import EndingReason, NoticeReason
    from domain.records import BookingRequest, SlotsRequest
    from domain.stages import Stage, Task, WaitingOn


async def teleconsult(m: Moves) -> None:
    p, steps = m.policy, m.state.teleconsult
    no_shows = 0
    for consult_round in itertools.count(1):
        start = workflow.now()
        request = SlotsRequest(
            journey_id=m.journey_id,
            round=consult_round,
            count=p.consult_slots_offered,
            not_before=start,
        )
        proposed = await propose_slots(m.incidents, request, p.outside_patience)
        assert proposed is not None, "slots are never skipped"
        steps.offered = {s.slot_id: s for s in proposed.slots}
        steps.slot_choice = steps.new_times = None
        await m.ask_patient(
            Stage.TELECONSULT,
            task=Task.CHOOSE_SLOT,
            answered=lambda: steps.slot_choice is not None or steps.new_times is not None,
            start=start,
            give_up_after=p.slot_choice_timeout,
            reminders=p.slot_choice_reminders,
            request=(f"slot-proposals-{consult_round}", NotificationKind.SLOT_PROPOSALS),
            reminder=(f"slot-reminder-{consult_round}", NotificationKind.SLOT_REMINDER),
            deadline_summary="Slot choice deadline",
            lost=EndingReason.NO_SLOT_CHOSEN,
        )
        if steps.new_times is not None:
            # None of the times suited, or their specialist left: a new round, new times.
            continue
        assert steps.slot_choice is not None
        slot = steps.offered[steps.slot_choice.slot_id]
        steps.consult = await m.book(
            BookingRequest.consult(m.journey_id, f"consult-{consult_round}", slot)
        )
        steps.reschedule = steps.no_show = steps.outcome = None
        await m.enter(
            Stage.TELECONSULT,
            WaitingOn.SPECIALIST,
            slot.starts_at + p.consult_outcome_grace,
            actor=steps.slot_choice.actor,
            task=Task.HOLD_CONSULT,
        )
        await m.notify(
            f"booking-confirmation-{consult_round}", NotificationKind.BOOKING_CONFIRMATION
        )
        await m.notify(
            f"consult-booked-{consult_round}",
            NotificationKind.CONSULT_BOOKED_SPECIALIST,
            Audience.SPECIALIST,
        )
        for i, before in enumerate(sorted(p.consult_reminders_before, reverse=True), 1):
            if await m.until(lambda: steps.settled, slot.starts_at - before, "Consult reminder"):
                break
            await m.notify(
                f"consult-reminder-{consult_round}-{i}", NotificationKind.CONSULT_REMINDER
            )
        await m.until(lambda: steps.settled, None, "")
        consult = steps.consult
        if steps.reschedule is not None:
            await m.cancel(consult)
            await m.notify(
                f"consult-cancelled-{consult_round}",
                NotificationKind.CONSULT_CANCELLED,
                facts={"reason": NoticeReason.RESCHEDULE_REQUESTED},
            )
            continue
        if steps.no_show is not None:
            await m.cancel(consult)
            no_shows += 1
            if no_shows >= p.max_no_shows:
                raise Ended(
                    Stage.LOST_CONTACT, NotificationKind.LOST_CONTACT, EndingReason.NO_SHOWS
                )
            await m.notify(
                f"no-show-{consult_round}",
                NotificationKind.NO_SHOW_NOTICE,
                facts={"count": str(no_shows)},
            )
            continue
        outcome = steps.outcome
        assert outcome is not None
        m.mark_completed(consult)
        if not outcome.eligible:
            assert outcome.reason is not None
            raise Ended(Stage.NOT_ELIGIBLE, NotificationKind.NOT_ELIGIBLE, outcome.reason.value)
        m.state.actor_of_next = outcome.actor
        return
