"""Failures that retrying cannot fix, and outside systems down past the policy's patience,
open incidents: the journey keeps its stage, waits on a coordinator, and resumes when one
retries, skips or withdraws. No failure ends a run FAILED or carries the patient's data."""

import json
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.workflowservice.v1 import (
    DescribeWorkflowExecutionRequest,
    DescribeWorkflowExecutionResponse,
)
from temporalio.client import WorkflowHandle, WorkflowUpdateFailedError, WorkflowUpdateStage
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment

from domain.actors import Actor, Role
from domain.incidents import IncidentAction, IncidentKind
from domain.names import INCIDENT
from domain.refusals import Refusal, RefusalCode
from domain.stages import Stage, WaitingOn
from domain.steps import IncidentResolution, ProcedureReported, Withdrawal
from integrations.fhir_gateway import FhirClinicGateway
from settings import Settings
from tests.faults import DOMAIN_NOT_FOUND, USER_UNKNOWN, RefusingMailbox
from tests.helpers import current_details, eventually, refusal_of
from tests.journeys import CLINIC, COORDINATOR, JourneyDriver, assert_no_needles, seed_staff
from tests.test_fhir_gateway import FhirServer, fhir_response, outcome
from worker import build_worker, running_worker, smtp_sender
from workflows.follow_up import FollowUp
from workflows.journey import PatientJourney

SENTINEL_ADDRESS = "zq.typo.sentinel@refused.example"


@pytest.fixture
async def journey(
    temporal_env: WorkflowEnvironment,
    pool: asyncpg.Pool,
    settings: Settings,
    relay: RefusingMailbox,
) -> JourneyDriver:
    """A journey to start, its emails sent through the relay, with the staff on file."""
    await seed_staff(pool)
    return JourneyDriver(temporal_env, pool, settings.task_queue, relay.directory)


def _resolution(action: IncidentAction, number: int | None = None) -> IncidentResolution:
    return IncidentResolution(actor=COORDINATOR, action=action, incident_number=number)


async def _refusal(handle: WorkflowHandle[Any, Any], step: IncidentResolution) -> Refusal:
    """The journey's refusal of a resolution."""
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await handle.execute_update(PatientJourney.resolve_incident, step)
    return refusal_of(refused.value)


async def _describe(handle: WorkflowHandle[Any, Any]) -> DescribeWorkflowExecutionResponse:
    """The raw description: the time-skipping server's datetime attributes do not parse as
    typed search attributes, which `handle.describe()` insists on."""
    client = handle._client
    return await client.workflow_service.describe_workflow_execution(
        DescribeWorkflowExecutionRequest(
            namespace=client.namespace, execution=WorkflowExecution(workflow_id=handle.id)
        )
    )


async def _incident_shown(handle: WorkflowHandle[Any, Any]) -> str | None:
    """The `Incident` search attribute as the server holds it."""
    fields = (await _describe(handle)).workflow_execution_info.search_attributes.indexed_fields
    payload = fields.get(INCIDENT.name)
    return json.loads(payload.data) if payload is not None else None


async def test_a_refused_address_holds_the_journey_until_corrected_and_retried(
    journey: JourneyDriver,
    temporal_env: WorkflowEnvironment,
    pool: asyncpg.Pool,
    relay: RefusingMailbox,
) -> None:
    relay.refuse("refused.example", USER_UNKNOWN)
    j = await journey.start(email=SENTINEL_ADDRESS)

    incident = await j.incident()
    status = await j.status()
    assert status.stage is Stage.INQUIRY
    assert status.waiting_on is WaitingOn.COORDINATOR
    assert incident.kind is IncidentKind.EMAIL_REFUSED
    assert incident.step == "email:acknowledgement"
    assert await _incident_shown(j.handle) == "email_refused"
    details = await current_details(j.handle)
    assert "incident 1 (email_refused) since" in details
    assert "mail server refused an email" in details
    await eventually(
        lambda: _async(j.mail_kinds()), until=lambda m: "incident-1" in m, what="coordinators"
    )
    row = await pool.fetchrow("SELECT incident FROM journeys WHERE journey_id = $1", j.journey_id)
    assert row["incident"] == "email_refused"

    # Skipping the acknowledgement would be safe, but withdrawing is no resolution to retry.
    assert await _refusal(j.handle, _resolution(IncidentAction.RETRY, 7)) == Refusal.of(
        RefusalCode.INCIDENT_SUPERSEDED, incident_number=7, open_incident=1
    )
    assert await _refusal(
        j.handle,
        IncidentResolution(
            actor=Actor(id="rev-1", role=Role.REVIEWER), action=IncidentAction.RETRY
        ),
    ) == Refusal.of(RefusalCode.ROLE_NOT_ALLOWED, roles=(Role.COORDINATOR,))

    await pool.execute(
        "UPDATE patients SET email = 'ana.fixed@example.org' WHERE patient_id = $1",
        uuid.UUID(j.patient.id),
    )
    after = await j.handle.execute_update(
        PatientJourney.resolve_incident, _resolution(IncidentAction.RETRY, 1)
    )
    assert after.incident is None
    await j.reach(Stage.VALIDATION, WaitingOn.REVIEWER)
    assert "acknowledgement" in j.mail_kinds()
    assert await _incident_shown(j.handle) == ""
    resolved = await pool.fetchrow(
        "SELECT resolution, resolved_by FROM incidents WHERE journey_id = $1", j.journey_id
    )
    assert (resolved["resolution"], resolved["resolved_by"]) == ("retry", COORDINATOR.id)
    await assert_no_needles(temporal_env.client, j.journey_id, [SENTINEL_ADDRESS, "zq.typo"])


async def _async(value):  # type: ignore[no-untyped-def]
    return value


async def test_a_deferring_relay_retries_without_the_address_then_opens_an_incident(
    journey: JourneyDriver,
    temporal_env: WorkflowEnvironment,
    relay: RefusingMailbox,
) -> None:
    relay.refuse("refused.example", DOMAIN_NOT_FOUND)
    j = await journey.start(email=SENTINEL_ADDRESS)

    async def last_failure() -> str:
        pending = (await _describe(j.handle)).pending_activities
        if not pending or not pending[0].HasField("last_failure"):
            return ""
        # The server holds the message encrypted; the client's converter reads it.
        failure = await temporal_env.client.data_converter.decode_failure(pending[0].last_failure)
        assert isinstance(failure, ApplicationError)
        return failure.message

    message = await eventually(last_failure, what="a failed attempt")
    assert message == "recipient refused by the mail server ([450])"
    await assert_no_needles(temporal_env.client, j.journey_id, [SENTINEL_ADDRESS])

    await j.sleep(timedelta(days=1, hours=1))
    assert (await j.incident()).kind is IncidentKind.EMAIL_UNAVAILABLE
    await assert_no_needles(temporal_env.client, j.journey_id, [SENTINEL_ADDRESS])

    # The coordinator skips the acknowledgement: the journey goes on to the review.
    await j.handle.execute_update(PatientJourney.resolve_incident, _resolution(IncidentAction.SKIP))
    await j.reach(Stage.VALIDATION, WaitingOn.REVIEWER)


async def test_withdrawing_from_an_incident_undoes_the_bookings(
    journey: JourneyDriver,
    temporal_env: WorkflowEnvironment,
) -> None:
    """A name the visa letter's font cannot print stops the travel stage; the coordinator
    withdraws the journey, and the clinic visit booked before it is cancelled."""
    j = await journey.start(full_name="李小龍")
    await j.approve()
    await j.hold_consult()
    await j.accept_plan()
    await j.reach(Stage.TRAVEL, WaitingOn.PATIENT)
    await j.handle.execute_update(
        PatientJourney.travel_details, await j.travel_details(needs_visa=True)
    )
    await j.confirm_visit_if_asked()
    incident = await j.incident()
    assert incident.kind is IncidentKind.VISA_LETTER_UNPRINTABLE
    assert (await j.status()).stage is Stage.TRAVEL
    assert set(incident.actions) == set(IncidentAction)
    assert (await j.bookings())["clinic-visit"] == "active"

    final = await j.handle.execute_update(
        PatientJourney.resolve_incident, _resolution(IncidentAction.WITHDRAW)
    )
    assert final.stage is Stage.WITHDRAWN
    assert (await j.result()).stage is Stage.WITHDRAWN
    assert (await j.bookings())["clinic-visit"] == "cancelled"
    assert "withdrawal" in j.mail_kinds()
    await assert_no_needles(temporal_env.client, j.journey_id, ["李小龍"])


async def test_a_missing_record_is_an_incident_and_retry_finds_it(
    journey: JourneyDriver,
) -> None:
    j = await journey.start()
    await j.book_the_trip()
    await j.sleep(timedelta(days=31))
    await j.reach(Stage.TREATMENT)
    await j.admit()
    lost = str(uuid.uuid4())
    await j.handle.execute_update(
        PatientJourney.procedure_report, ProcedureReported(actor=CLINIC, report_id=lost)
    )
    incident = await j.incident()
    assert incident.kind is IncidentKind.RECORD_MISSING
    assert incident.actions == (IncidentAction.RETRY, IncidentAction.WITHDRAW)
    refused = await _refusal(j.handle, _resolution(IncidentAction.SKIP))
    assert (refused.code, refused.params.action) == (
        RefusalCode.ACTION_NOT_OFFERED,
        IncidentAction.SKIP,
    )

    await j.store_procedure_report(report_id=lost, cells=90_000_000)
    await j.handle.execute_update(
        PatientJourney.resolve_incident, _resolution(IncidentAction.RETRY)
    )
    await eventually(
        lambda: _async(j.mail_kinds()), until=lambda m: "dose-escalation" in m, what="escalation"
    )


async def test_no_specialist_is_an_incident_until_one_is_added(
    journey: JourneyDriver,
    pool: asyncpg.Pool,
) -> None:
    await pool.execute("UPDATE staff SET active = false WHERE role = 'specialist'")
    j = await journey.start()
    await j.approve()
    assert (await j.incident()).kind is IncidentKind.NO_SPECIALIST
    status = await j.status()
    assert status.stage is Stage.CASE_MANAGER or status.stage is Stage.TELECONSULT

    await pool.execute("UPDATE staff SET active = true WHERE role = 'specialist'")
    await j.handle.execute_update(
        PatientJourney.resolve_incident, _resolution(IncidentAction.RETRY)
    )
    status = await j.reach(Stage.TELECONSULT, WaitingOn.PATIENT)
    assert status.offered_slots


async def test_the_calendar_down_past_patience_is_an_incident(
    journey: JourneyDriver,
    temporal_env: WorkflowEnvironment,
    pool: asyncpg.Pool,
    settings: Settings,
    radicale: str,
) -> None:
    j = journey
    async with running_worker(
        temporal_env.client,
        settings=settings.model_copy(
            update={"caldav_url": "http://127.0.0.1:9/", "task_queue": f"{settings.task_queue}-x"}
        ),
        pool=pool,
    ):
        j.task_queue = f"{settings.task_queue}-x"
        await j.start()
        await j.approve()
        await eventually(
            lambda: _describe(j.handle),
            until=lambda d: bool(d.pending_activities),
            what="slots pending",
        )
        await j.sleep(timedelta(days=1, hours=1))
        assert (await j.incident()).kind is IncidentKind.CALENDAR_UNAVAILABLE
        refused = await _refusal(j.handle, _resolution(IncidentAction.SKIP))
        assert (refused.code, refused.params.action) == (
            RefusalCode.ACTION_NOT_OFFERED,
            IncidentAction.SKIP,
        )


async def test_the_follow_up_year_has_incidents_of_its_own(
    journey: JourneyDriver,
    relay: RefusingMailbox,
) -> None:
    j = await journey.start()
    await j.book_and_treat()
    relay.refuse("example.org", USER_UNKNOWN)
    await j.sleep(timedelta(days=8))
    follow_up = await eventually(
        lambda: j.follow_up.query(FollowUp.status), until=lambda s: s.incident is not None
    )
    assert follow_up.incident is not None
    assert follow_up.incident.kind is IncidentKind.EMAIL_REFUSED
    assert await _incident_shown(j.follow_up) == "email_refused"
    assert (await j.status()).stage is Stage.FOLLOW_UP
    relay.allow("example.org")
    await j.follow_up.execute_update(FollowUp.resolve_incident, _resolution(IncidentAction.SKIP))
    after = await eventually(
        lambda: j.follow_up.query(FollowUp.status), until=lambda s: s.incident is None
    )
    assert after.incident is None


async def test_a_clinic_refusing_the_cancellation_holds_the_withdrawal_until_skipped(
    temporal_env: WorkflowEnvironment,
    pool: asyncpg.Pool,
    settings: Settings,
    mail_dir: Path,
) -> None:
    """The clinic's FHIR server books the visit, then refuses to cancel it with an
    OperationOutcome that echoes the patient's name: the withdrawal waits on a coordinator,
    who cancels by phone and skips; the name never reaches Temporal."""
    fhir = FhirServer()

    def refuses_cancelling(request: httpx.Request) -> httpx.Response:
        if request.method == "PUT" and b'"cancelled"' in request.content:
            diagnostics = "Appointment for Zephyrine Quillfeather is locked by the ward"
            return fhir_response(409, outcome("error", "conflict", diagnostics))
        return fhir(request)

    clinic = FhirClinicGateway(
        base_url="https://fhir.clinic.test/r4/",
        http=httpx.AsyncClient(transport=httpx.MockTransport(refuses_cancelling)),
    )
    await seed_staff(pool)
    async with (
        smtp_sender(settings) as sender,
        build_worker(
            temporal_env.client, settings=settings, pool=pool, sender=sender, clinic=clinic
        ),
    ):
        j = JourneyDriver(temporal_env, pool, settings.task_queue, mail_dir)
        await j.start(full_name="Zephyrine Quillfeather")
        await j.book_the_trip(needs_visa=False)
        assert (await j.bookings())["clinic-visit"] == "active"
        withdrawal = await j.handle.start_update(
            PatientJourney.withdraw,
            Withdrawal(actor=j.patient),
            wait_for_stage=WorkflowUpdateStage.ACCEPTED,
        )
        incident = await j.incident()
        assert incident.kind is IncidentKind.CLINIC_REFUSED
        assert incident.step == "cancel:clinic-visit"
        assert incident.actions == (IncidentAction.RETRY, IncidentAction.SKIP)
        await j.handle.execute_update(
            PatientJourney.resolve_incident, _resolution(IncidentAction.SKIP)
        )
        assert (await withdrawal.result()).stage is Stage.WITHDRAWN
        assert (await j.result()).stage is Stage.WITHDRAWN
        await assert_no_needles(temporal_env.client, j.journey_id, ["Quillfeather", "Zephyrine"])
