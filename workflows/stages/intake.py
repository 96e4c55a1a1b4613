"""INQUIRY, VALIDATION and CASE_MANAGER: the inquiry recorded and acknowledged, the case
reviewed (with documents asked for as often as the reviewer needs), a case manager assigned."""

import itertools

from temporalio import workflow

from workflows.endings import Ended
from workflows.moves import Moves
from workflows.timeouts import RECORDS_TIMEOUT

with workflow.unsafe.imports_passed_through():
    from activities.records import RecordsActivities
    from domain.actors import SYSTEM
    from domain.incidents import OutsideSystem
    from domain.names import PATIENT_COUNTRY
    from domain.notifications import Audience, NotificationKind
    from domain.reasons import EndingReason, NoticeReason
    from domain.records import CaseManagerRequest, RecordInquiry
    from domain.stages import Stage, Task, WaitingOn
    from domain.steps import ReviewOutcome


async def intake(m: Moves) -> None:
    await m.enter(Stage.INQUIRY, WaitingOn.NONE, task=Task.RECORD_INQUIRY)
    journey = m.state.journey
    facts = await m.incidents.attempt(
        lambda: workflow.execute_activity_method(
            RecordsActivities.record_inquiry,
            RecordInquiry(journey_id=journey.journey_id, inquiry_id=journey.inquiry_id),
            start_to_close_timeout=RECORDS_TIMEOUT,
            summary="Record the inquiry",
        ),
        system=OutsideSystem.RECORDS,
        step="record:inquiry",
    )
    assert facts is not None
    m.state.language = facts.language
    workflow.upsert_search_attributes([PATIENT_COUNTRY.value_set(facts.country)])
    await m.notify("acknowledgement", NotificationKind.ACKNOWLEDGEMENT)
    await m.notify("staff-new-inquiry", NotificationKind.STAFF_NEW_INQUIRY, Audience.COORDINATORS)


async def validation(m: Moves) -> None:
    p, steps = m.policy, m.state.validation
    for review_round in itertools.count(1):
        sla = workflow.now() + p.review_sla
        steps.review = None
        await m.enter(
            Stage.VALIDATION,
            WaitingOn.REVIEWER,
            sla,
            actor=steps.documents.actor if steps.documents else SYSTEM,
            task=Task.REVIEW_CASE,
        )
        until, escalations = sla, 0
        while not await m.until(lambda: steps.review is not None, until, "Review SLA"):
            escalations += 1
            await m.notify(
                f"review-escalation-{review_round}-{escalations}",
                NotificationKind.REVIEW_ESCALATION,
                Audience.MEDICAL_LEAD,
                {"count": str(escalations), "reason": NoticeReason.REVIEW_SLA_PASSED},
            )
            until = workflow.now() + p.review_escalation_every
        review = steps.review
        assert review is not None
        if review.outcome is ReviewOutcome.APPROVE:
            m.state.actor_of_next = review.actor
            return
        if review.outcome is ReviewOutcome.REJECT:
            assert review.reason is not None
            raise Ended(Stage.NOT_ELIGIBLE, NotificationKind.REJECTION, review.reason.value)
        start = workflow.now()
        steps.documents = None
        await m.ask_patient(
            Stage.VALIDATION,
            task=Task.SEND_DOCUMENTS,
            actor=review.actor,
            answered=lambda: steps.documents is not None,
            start=start,
            give_up_after=p.documents_timeout,
            reminders=p.document_reminders,
            request=(f"documents-request-{review_round}", NotificationKind.DOCUMENTS_REQUEST),
            reminder=(f"documents-reminder-{review_round}", NotificationKind.DOCUMENTS_REMINDER),
            facts={"documents": ",".join(d.value for d in review.documents)},
            deadline_summary="Documents deadline",
            lost=EndingReason.NO_DOCUMENTS,
        )


async def case_manager(m: Moves) -> None:
    state = m.state
    await m.enter(
        Stage.CASE_MANAGER,
        WaitingOn.NONE,
        actor=state.actor_of_next,
        task=Task.ASSIGNING_CASE_MANAGER,
    )
    if state.case_manager_id is not None:
        return
    assigned = await workflow.execute_activity_method(
        RecordsActivities.assign_case_manager,
        CaseManagerRequest(journey_id=m.journey_id, language=state.language),
        start_to_close_timeout=RECORDS_TIMEOUT,
        summary="Assign a case manager by language and load",
    )
    if assigned.case_manager_id is not None:
        await m.case_manager_assigned(assigned.case_manager_id)
        return
    await m.enter(Stage.CASE_MANAGER, WaitingOn.COORDINATOR, task=Task.ASSIGN_CASE_MANAGER)
    await m.notify(
        "case-manager-needed", NotificationKind.CASE_MANAGER_NEEDED, Audience.COORDINATORS
    )
    await m.until(lambda: state.case_manager_id is not None, None, "")
