"""TREATMENT and FOLLOW_UP: the clinic's admission, procedure and discharge (a dose below the
protocol minimum is escalated), then the follow-up year as a child workflow."""

import asyncio

from temporalio import workflow
from temporalio.exceptions import ChildWorkflowError

from workflows.endings import Withdrawn
from workflows.follow_up import FollowUp
from workflows.moves import Moves
from workflows.timeouts import RECORDS_TIMEOUT

with workflow.unsafe.imports_passed_through():
    from activities.records import RecordsActivities
    from domain.actors import SYSTEM
    from domain.follow_up import FollowUpInput
    from domain.incidents import OutsideSystem
    from domain.names import follow_up_workflow_id
    from domain.notifications import Audience, NotificationKind
    from domain.records import AssessProcedure
    from domain.rehab import RehabNotice
    from domain.stages import Stage, Task, WaitingOn

# Patch id: the journey waits on the case manager while a rehabilitation follow-up is open.
WAIT_ON_CASE_MANAGER = "wait-on-case-manager"


async def treatment(m: Moves) -> None:
    p, state, steps = m.policy, m.state, m.state.treatment
    alert_at = state.travel.admission_due
    assert alert_at is not None
    await m.enter(Stage.TREATMENT, WaitingOn.CLINIC, alert_at, task=Task.REPORT_ADMISSION)
    if not await m.until(lambda: steps.admission is not None, alert_at, "Admission expected"):
        await m.notify(
            "admission-overdue", NotificationKind.ADMISSION_OVERDUE, Audience.COORDINATORS
        )
        await m.await_step(
            Stage.TREATMENT,
            WaitingOn.COORDINATOR,
            lambda: steps.admission,
            task=Task.CHASE_ADMISSION,
        )
    assert steps.admission is not None
    procedure = await m.await_step(
        Stage.TREATMENT,
        WaitingOn.CLINIC,
        lambda: steps.procedure,
        actor=steps.admission.actor,
        task=Task.REPORT_PROCEDURE,
    )
    check = AssessProcedure(
        journey_id=m.journey_id, report_id=procedure.report_id, min_cells=p.min_cells
    )
    assessment = await m.incidents.attempt(
        lambda: workflow.execute_activity_method(
            RecordsActivities.assess_procedure,
            check,
            start_to_close_timeout=RECORDS_TIMEOUT,
            summary="Check the dose against the protocol minimum",
        ),
        system=OutsideSystem.RECORDS,
        step="record:procedure",
    )
    assert assessment is not None
    if assessment.below_minimum:
        await m.notify("dose-escalation", NotificationKind.DOSE_ESCALATION, Audience.MEDICAL_LEAD)
    await m.await_step(
        Stage.TREATMENT,
        WaitingOn.CLINIC,
        lambda: steps.discharge,
        actor=procedure.actor,
        task=Task.REPORT_DISCHARGE,
    )
    for booking in state.bookings:
        m.mark_completed(booking)


async def follow_up(m: Moves) -> None:
    discharge = m.state.treatment.discharge
    assert discharge is not None
    await m.enter(
        Stage.FOLLOW_UP,
        WaitingOn.PATIENT,
        actor=discharge.actor,
        task=Task.FOLLOW_UP_YEAR,
    )
    child = asyncio.ensure_future(
        workflow.execute_child_workflow(
            FollowUp.run,
            FollowUpInput(
                journey_id=m.journey_id,
                discharged_at=workflow.now(),
                policy=m.policy,
                case_page_url=m.state.journey.case_page_url,
            ),
            id=follow_up_workflow_id(m.journey_id),
            static_summary=f"Follow-up year of journey {m.journey_id}",
        )
    )
    state = m.state
    try:
        while True:
            await m.until(lambda: child.done() or state.rehab_notice != state.rehab_shown, None, "")
            if child.done():
                break
            notice = state.rehab_shown = state.rehab_notice
            if notice is not None and workflow.patched(WAIT_ON_CASE_MANAGER):
                await rehab_follow_up_changed(m, notice)
    except Withdrawn:
        child.cancel()
        try:
            await child
        except (asyncio.CancelledError, ChildWorkflowError):
            pass
        raise
    child.result()


async def rehab_follow_up_changed(m: Moves, notice: RehabNotice) -> None:
    """While a rehabilitation follow-up is open the journey waits on the case manager until
    it is due; once closed, on the patient again for the rest of the year."""
    follow_up = notice.follow_up
    if notice.closed:
        await m.enter(
            Stage.FOLLOW_UP,
            WaitingOn.PATIENT,
            actor=notice.closed_by or SYSTEM,
            task=Task.FOLLOW_UP_YEAR,
        )
    else:
        await m.enter(
            Stage.FOLLOW_UP,
            WaitingOn.CASE_MANAGER,
            follow_up.due,
            task=Task.FOLLOW_UP_REHABILITATION,
        )
