"""The `PatientJourney` workflow: one durable journey from inquiry to the end of follow-up."""

from datetime import datetime, timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from activities.email import EmailActivities
    from activities.records import RecordsActivities
    from domain.journey import JourneyInput, JourneyOutcome, JourneyStatus, StageTransition
    from domain.names import JOURNEY_STAGE, NEXT_DEADLINE, PATIENT_COUNTRY, WAITING_ON
    from domain.notifications import Audience, NotificationKind, NotificationRequest
    from domain.records import RecordInquiry, StageChange
    from domain.stages import Stage, WaitingOn

RECORDS_TIMEOUT = timedelta(seconds=30)
EMAIL_TIMEOUT = timedelta(minutes=2)
# Outside systems can be down for hours; the journey waits for them rather than failing.
OUTSIDE_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=2),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(minutes=10),
)

_WAITING_PHRASES: dict[WaitingOn, str] = {
    WaitingOn.PATIENT: "the patient",
    WaitingOn.REVIEWER: "a medical reviewer",
    WaitingOn.SPECIALIST: "the specialist",
    WaitingOn.CLINIC: "the clinic",
    WaitingOn.COORDINATOR: "a coordinator",
}
_STAGE_TASKS: dict[Stage, str] = {
    Stage.INQUIRY: "recording the inquiry",
    Stage.VALIDATION: "to review the case",
}


@workflow.defn(name="PatientJourney")
class PatientJourney:
    """Carries one patient's journey; holds ids, stages and decisions, never PHI."""

    def __init__(self) -> None:
        self._journey_id = ""
        self._stage = Stage.INQUIRY
        self._waiting_on = WaitingOn.NONE
        self._deadline: datetime | None = None
        self._transitions: list[StageTransition] = []

    @workflow.run
    async def run(self, journey: JourneyInput) -> JourneyOutcome:
        self._journey_id = journey.journey_id
        await self._enter(Stage.INQUIRY, WaitingOn.NONE, None)
        facts = await workflow.execute_activity_method(
            RecordsActivities.record_inquiry,
            RecordInquiry(journey_id=journey.journey_id, inquiry_id=journey.inquiry_id),
            start_to_close_timeout=RECORDS_TIMEOUT,
            summary="Record the inquiry",
        )
        workflow.upsert_search_attributes([PATIENT_COUNTRY.value_set(facts.country)])
        await self._notify("acknowledgement", NotificationKind.ACKNOWLEDGEMENT, Audience.PATIENT)
        await self._notify("staff-new-inquiry", NotificationKind.STAFF_NEW_INQUIRY, Audience.STAFF)

        await self._enter(
            Stage.VALIDATION, WaitingOn.REVIEWER, workflow.now() + journey.policy.review_sla
        )
        await workflow.wait_condition(lambda: self._stage.is_final)
        await workflow.wait_condition(workflow.all_handlers_finished)
        return JourneyOutcome(journey_id=journey.journey_id, stage=self._stage)

    @workflow.query
    def status(self) -> JourneyStatus:
        return JourneyStatus(
            journey_id=self._journey_id,
            stage=self._stage,
            waiting_on=self._waiting_on,
            deadline=self._deadline,
            transitions=list(self._transitions),
        )

    async def _notify(self, step: str, kind: NotificationKind, audience: Audience) -> None:
        await workflow.execute_activity_method(
            EmailActivities.send_notification,
            NotificationRequest(
                journey_id=self._journey_id, step=step, kind=kind, audience=audience
            ),
            start_to_close_timeout=EMAIL_TIMEOUT,
            retry_policy=OUTSIDE_RETRY,
            summary=f"Email: {kind.value.replace('_', ' ')} ({audience.value})",
        )

    async def _enter(
        self,
        stage: Stage,
        waiting_on: WaitingOn,
        deadline: datetime | None,
        actor_id: str = "system",
        actor_role: str = "system",
    ) -> None:
        """Move to a stage: log it, show it in the UI, and project it into Postgres."""
        now = workflow.now()
        self._stage, self._waiting_on, self._deadline = stage, waiting_on, deadline
        self._transitions.append(
            StageTransition(stage=stage, entered_at=now, actor_id=actor_id, actor_role=actor_role)
        )
        workflow.upsert_search_attributes(
            [
                JOURNEY_STAGE.value_set(stage.value),
                WAITING_ON.value_set(waiting_on.value),
                NEXT_DEADLINE.value_set(deadline) if deadline else NEXT_DEADLINE.value_unset(),
            ]
        )
        workflow.set_current_details(self._details())
        await workflow.execute_activity_method(
            RecordsActivities.record_stage,
            StageChange(
                journey_id=self._journey_id,
                seq=len(self._transitions),
                stage=stage,
                waiting_on=waiting_on,
                deadline=deadline,
                changed_at=now,
                actor_id=actor_id,
                actor_role=actor_role,
            ),
            start_to_close_timeout=RECORDS_TIMEOUT,
            summary=f"Record stage {stage.value}",
        )

    def _details(self) -> str:
        """One markdown sentence: what the journey waits for, from whom, until when."""
        task = _STAGE_TASKS.get(self._stage, "")
        head = f"**{self._stage.value}**"
        if self._waiting_on is WaitingOn.NONE:
            return f"{head}: {task}." if task else f"{head}."
        who = _WAITING_PHRASES[self._waiting_on]
        until = f" by **{self._deadline.strftime('%Y-%m-%d %H:%M UTC')}**" if self._deadline else ""
        return f"{head}: waiting on {who} {task}{until}."
