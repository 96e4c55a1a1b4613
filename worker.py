"""The worker: connects to Temporal and Postgres, registers the workflows and activities."""

import asyncio
import contextlib
import logging
import signal
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
import httpx
from temporalio.client import Client
from temporalio.common import VersioningBehavior
from temporalio.service import RPCError
from temporalio.worker import Worker, WorkerDeploymentConfig

from activities.bookings import BookingActivities
from activities.email import EmailActivities, Partners, message_id_domain
from activities.failures import PhiSafeFailures
from activities.messages import MessageComposer
from activities.privacy import PrivacyActivities
from activities.records import RecordsActivities
from db.pool import create_pool
from integrations.caldav_calendar import CalDavCalendar
from integrations.calendar import CalendarClient
from integrations.clinic import ClinicGateway, EmailClinicGateway
from integrations.fhir_gateway import FhirClinicGateway
from integrations.mail import MailSender
from integrations.smtp import smtp_sender
from integrations.temporal_client import connect_temporal
from integrations.worker_deployment import Promote, settle_routing, worker_version
from observability.logs import configure_logging
from observability.outside_calls import ObservedCalendar, ObservedClinic, TracedMailSender
from observability.temporal_runtime import temporal_runtime
from observability.tracing import configure_tracing, stop_tracing, temporal_interceptors
from partner_links import partner_page_url
from patient_links import patient_page_url
from settings import Settings, get_settings
from workflows.registry import WORKFLOWS, workflow_runner

log = logging.getLogger("journeys.worker")


def calendar_client(settings: Settings) -> CalendarClient | None:
    if not settings.caldav_url:
        return None
    return CalDavCalendar(
        url=settings.caldav_url,
        username=settings.caldav_username,
        password=settings.caldav_password.get_secret_value(),
    )


def clinic_gateway(
    settings: Settings, http: httpx.AsyncClient | None = None
) -> ClinicGateway | None:
    """The clinic gateway the settings ask for; "record" keeps the visit in our records only."""
    if settings.clinic_mode == "email":
        return EmailClinicGateway()
    if settings.clinic_mode == "fhir":
        if not settings.clinic_fhir_url:
            raise RuntimeError("JOURNEYS_CLINIC_MODE=fhir needs JOURNEYS_CLINIC_FHIR_URL")
        return FhirClinicGateway(
            base_url=settings.clinic_fhir_url,
            http=http or httpx.AsyncClient(timeout=30),
            bearer_token=settings.clinic_fhir_token.get_secret_value()
            if settings.clinic_fhir_token
            else None,
        )
    return None


def build_activities(
    *,
    settings: Settings,
    pool: asyncpg.Pool,
    sender: MailSender,
    calendar: CalendarClient | None = None,
    clinic: ClinicGateway | None = None,
) -> list[Callable[..., Any]]:
    """The bound activity methods of every activity class, clients handed in."""
    email = EmailActivities(
        # Each call to an outside system is a span, and the calendar's and clinic's counted.
        sender=TracedMailSender(sender),
        pool=pool,
        composer=MessageComposer(sender=settings.mail_from),
        partners=Partners(
            coordinators=settings.staff_notify_email,
            medical_lead=settings.medical_lead_email,
            hotel=settings.hotel_partner_email,
            transfer=settings.transfer_partner_email,
            clinic_name=settings.clinic_name,
            clinic_address=settings.clinic_address,
            video_link_base=settings.video_link_base,
            public_base_url=settings.public_base_url.rstrip("/"),
            clinic_email=settings.clinic_email,
            coordinators_language=settings.staff_notify_language,
            medical_lead_language=settings.medical_lead_language,
            clinic_time_zone=settings.clinic_time_zone,
        ),
        message_id_domain=message_id_domain(settings.mail_from),
        patient_link=lambda link: patient_page_url(
            settings,
            journey_id=link.journey_id,
            patient_id=link.patient_id,
            generation=link.generation,
            language=link.language,
        ),
        partner_link=lambda journey_id, booking_id: partner_page_url(
            settings, journey_id=journey_id, booking_id=booking_id
        ),
    )
    records = RecordsActivities(pool)
    observed_calendar = ObservedCalendar(calendar) if calendar is not None else None
    bookings = BookingActivities(
        pool,
        observed_calendar,
        settings.video_link_base,
        ObservedClinic(clinic) if clinic is not None else None,
    )
    privacy = PrivacyActivities(
        pool, observed_calendar, settings.audit_key.get_secret_value().encode()
    )
    return [
        records.record_inquiry,
        records.record_stage,
        records.record_incident,
        records.record_travel_change,
        records.assign_case_manager,
        records.set_case_manager,
        records.assess_procedure,
        records.assess_checkin,
        records.record_rehab_follow_up,
        bookings.propose_consult_slots,
        bookings.book,
        bookings.cancel_booking,
        email.send_notification,
        privacy.erase_journey,
        privacy.erase_due_journeys,
    ]


def deployment_config(settings: Settings) -> WorkerDeploymentConfig:
    """The version of the worker deployment this build's workers poll as.

    Every worker of the project's workflows is versioned: they declare their behaviour, and a
    Temporal server with Worker Deployments refuses a task completed with one by an
    unversioned worker. A server without them (the time-skipping test server) ignores both.
    """
    return WorkerDeploymentConfig(
        version=worker_version(settings),
        use_worker_versioning=True,
        # No default: every workflow type declares its own in `@workflow.defn`
        # (docs/changing-workflow-code.md says which and why), and the SDK refuses a worker
        # with a type that does not, so a new workflow cannot be pinned or upgrade by accident.
        default_versioning_behavior=VersioningBehavior.UNSPECIFIED,
    )


class RoutedWorker(Worker):
    """A worker that, once it polls, makes its version current as `promote` says
    (`JOURNEYS_WORKER_PROMOTE`): the server learns of a version from its workers' first polls.
    """

    def __init__(self, client: Client, *, promote: Promote, **options: Any) -> None:
        super().__init__(client, **options)
        self._promote = promote

    async def run(self) -> None:
        settling = asyncio.create_task(self._settle_routing())
        try:
            await super().run()
        finally:
            settling.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await settling

    async def _settle_routing(self) -> None:
        config = self.config().get("deployment_config")
        if config is None:
            return
        try:
            routing = await settle_routing(
                self.client,
                config.version,
                self._promote,
                identity=f"{self.client.identity} journeys worker",
            )
        except RPCError as err:
            log.warning("could not read or set the deployment's routing: %s", err.message)
            return
        (log.info if routing.current else log.warning)("%s", routing.detail)


def build_worker(
    client: Client,
    *,
    settings: Settings,
    pool: asyncpg.Pool,
    sender: MailSender,
    task_queue: str | None = None,
    calendar: CalendarClient | None = None,
    clinic: ClinicGateway | None = None,
    **options: Any,
) -> Worker:
    """The worker of this project; `options` go to temporalio's Worker as they are, and
    override the workflows, the settings' deployment version, sticky cache and sandbox
    runner."""
    options.setdefault("workflows", WORKFLOWS)
    options.setdefault("deployment_config", deployment_config(settings))
    options.setdefault(
        "workflow_runner", workflow_runner(reimport_workflows=settings.sandbox_reimport_workflows)
    )
    options.setdefault("max_cached_workflows", settings.worker_cached_runs)
    options.setdefault("interceptors", [PhiSafeFailures()])
    return RoutedWorker(
        client,
        promote=settings.worker_promote,
        task_queue=task_queue or settings.task_queue,
        activities=build_activities(
            settings=settings, pool=pool, sender=sender, calendar=calendar, clinic=clinic
        ),
        **options,
    )


@asynccontextmanager
async def running_worker(
    client: Client, *, settings: Settings, pool: asyncpg.Pool, **options: Any
) -> AsyncIterator[Worker]:
    """The project's worker with the outside systems its settings name (SMTP, CalDAV, the
    clinic), polling until the block ends; the SMTP connections close with it."""
    async with (
        smtp_sender(settings) as sender,
        build_worker(
            client,
            settings=settings,
            pool=pool,
            sender=sender,
            calendar=calendar_client(settings),
            clinic=clinic_gateway(settings),
            **options,
        ) as running,
    ):
        yield running


async def run_worker(settings: Settings) -> None:
    settings.check_secrets()
    client = await connect_temporal(
        settings,
        # The SDK's metrics and the activities' on the worker's metrics address.
        runtime=temporal_runtime(metrics_address=settings.worker_metrics_address),
        interceptors=temporal_interceptors(),
    )
    pool = await create_pool(
        settings.require_database_url(),
        min_size=settings.database_pool_min,
        max_size=settings.database_pool_max,
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        async with running_worker(client, settings=settings, pool=pool):
            log.info(
                "worker polling task queue %s on %s as version %s",
                settings.task_queue,
                settings.temporal_target,
                worker_version(settings).to_canonical_string(),
            )
            await stop.wait()
    finally:
        await pool.close()


def main() -> None:
    settings = get_settings()
    configure_logging("worker", level=settings.log_level)
    tracing = configure_tracing("journeys-worker")
    try:
        asyncio.run(run_worker(settings))
    finally:
        stop_tracing(tracing)


if __name__ == "__main__":
    main()
