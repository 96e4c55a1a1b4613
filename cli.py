"""The `journeys` command: the local stack, the worker, the API, the database and audits."""

import asyncio
import atexit
import os
import sys
from typing import TYPE_CHECKING, NoReturn

import typer

from audit.commands import register as register_audit_commands
from privacy.commands import AS_HELP, audit_command
from privacy.commands import register as register_privacy_commands
from settings import InsecureSettings, Settings, get_settings

if TYPE_CHECKING:
    from integrations.worker_deployment import DeploymentState

app = typer.Typer(
    help="Patient-journey orchestrator: local stack, worker, API and operations.",
    no_args_is_help=True,
    add_completion=False,
)


@app.command()
def dev() -> None:
    """Start the whole local stack (PostgreSQL, Temporal with its UI, SMTP, worker, API)."""
    from devstack.ports import PortTaken
    from devstack.stack import run_dev

    try:
        status = asyncio.run(run_dev(get_settings()))
    except PortTaken as err:
        typer.echo(f"Cannot start: {err}", err=True)
        raise typer.Exit(2) from None
    raise typer.Exit(status)


def _check_secrets(settings: Settings) -> None:
    try:
        settings.check_secrets()
    except InsecureSettings as err:
        typer.echo(str(err), err=True)
        raise typer.Exit(2) from None


def _worker_health(settings: Settings) -> int:
    """0 when this host's worker polls the task queue and PostgreSQL and the SMTP relay
    answer (observability/readiness.py); one line per dependency, failures on stderr."""
    from integrations.smtp import smtp_sender
    from observability.readiness import worker_readiness

    checks = asyncio.run(worker_readiness(settings, smtp_sender(settings)))
    where = {
        "temporal": f"Temporal at {settings.temporal_target}",
        "postgres": "PostgreSQL",
        "smtp": f"SMTP at {settings.smtp_target_host}:{settings.smtp_port}",
    }
    for check in checks:
        typer.echo(f"{where.get(check.name, check.name)}: {check.detail}", err=not check.ok)
    return 0 if all(check.ok for check in checks) else 1


@app.command()
def worker(
    check: bool = typer.Option(
        False,
        "--check",
        help="exit 0 if a worker on this host polls the task queue and PostgreSQL and SMTP "
        "answer (health)",
    ),
) -> None:
    """Run a worker for the journey task queue until SIGINT or SIGTERM."""
    if check:
        raise typer.Exit(_worker_health(get_settings()))
    _check_secrets(get_settings())
    import worker as worker_module

    worker_module.main()


@app.command()
def api() -> None:
    """Serve the API and form page with uvicorn."""
    import uvicorn
    from temporalio.runtime import Runtime

    from api.app import create_app
    from api.metrics import start_metrics_server
    from observability.logs import configure_logging
    from observability.temporal_runtime import temporal_runtime
    from observability.tracing import configure_tracing, stop_tracing

    settings = get_settings()
    _check_secrets(settings)
    configure_logging("api", level=settings.log_level)
    tracing = configure_tracing("journeys-api")
    # The SDK core's warnings go through the JSON log lines too.
    Runtime.set_default(temporal_runtime(), error_if_already_set=False)
    app = create_app(settings)
    metrics = (
        start_metrics_server(settings.api_metrics_address, app.state.metrics.registry)
        if settings.api_metrics_address
        else None
    )
    try:
        uvicorn.run(
            app,
            host=settings.api_host,
            port=settings.api_port,
            proxy_headers=True,
            log_level=settings.log_level.lower(),
            # Logging is configured above: uvicorn's loggers write JSON lines through the root.
            log_config=None,
        )
    finally:
        if metrics is not None:
            metrics.stop()
        stop_tracing(tracing)


@app.command()
def migrate() -> None:
    """Apply the SQL migrations the database at JOURNEYS_DATABASE_URL lacks."""
    from db.migrate import migrate_url

    applied = asyncio.run(migrate_url(get_settings().require_database_url()))
    typer.echo(f"applied {len(applied)} migration(s): {', '.join(applied) or 'none needed'}")


@app.command()
def setup() -> None:
    """Prepare external services: migrations, search attributes, the namespace's history
    retention and the daily retention schedule."""
    from db.migrate import migrate_url
    from integrations.temporal_client import connect_temporal, ensure_search_attributes
    from privacy.retention import ensure_retention_schedule, set_history_retention

    settings = get_settings()

    async def run() -> tuple[list[str], str]:
        applied = await migrate_url(settings.require_database_url())
        client = await connect_temporal(settings)
        await ensure_search_attributes(client)
        await set_history_retention(client, days=settings.temporal_retention_days)
        schedule = await ensure_retention_schedule(
            client, task_queue=settings.task_queue, retention_days=settings.retention_days
        )
        return applied, schedule

    applied, schedule = asyncio.run(run())
    typer.echo(
        f"applied {len(applied)} migration(s); search attributes registered; closed histories "
        f"kept {settings.temporal_retention_days} days; retention schedule {schedule} "
        f"(erases closed journeys after {settings.retention_days} days)"
    )


@app.command()
def token(
    role: str = typer.Option(
        ..., help="coordinator, reviewer, specialist, case_manager, medical_lead or auditor"
    ),
    name: str = typer.Option(..., help="the person's name"),
    subject: str = typer.Option("", help="the staff id; defaults to the name in lower case"),
    hours: int = typer.Option(12, min=1, max=24 * 30, help="how long the token is valid"),
) -> None:
    """Print a development staff token (signed with JOURNEYS_JWT_SECRET)."""
    from api.tokens import mint_staff_token
    from domain.actors import Role

    if get_settings().environment == "production":
        typer.echo(
            "journeys token signs development staff tokens and refuses in production "
            "(JOURNEYS_ENVIRONMENT=production, the default), where staff sign in through "
            "OIDC. On a development machine: JOURNEYS_ENVIRONMENT=development journeys token …",
            err=True,
        )
        raise typer.Exit(2)
    try:
        parsed = Role(role)
        value = mint_staff_token(
            get_settings(),
            subject=subject or name.lower().replace(" ", "-"),
            name=name,
            role=parsed,
            ttl_seconds=hours * 3600,
        )
    except ValueError:
        typer.echo(f"unknown staff role {role!r}", err=True)
        raise typer.Exit(2) from None
    typer.echo(value)


@app.command(name="patient-link")
def patient_link(
    journey_id: str, as_staff: str | None = typer.Option(None, "--as", help=AS_HELP)
) -> None:
    """Print a patient link token for a journey (development; emails carry these)."""
    from db.journey_queries import JourneyQueries
    from db.patient_links import PatientLinkRepository
    from patient_links import mint_patient_link

    settings = get_settings()
    _check_secrets(settings)

    async def patient_of() -> tuple[str | None, int]:
        import asyncpg

        conn = await asyncpg.connect(settings.require_database_url())
        try:
            patient_id = await JourneyQueries(conn).patient_id(journey_id=journey_id)
            # A link of an earlier generation than the journey's would be refused.
            generation = await PatientLinkRepository(conn).generation(journey_id)
        finally:
            await conn.close()
        if patient_id is not None:
            # A link opens the patient's data: written down before it is printed.
            await audit_command(
                settings, action="patient_link", journey_id=journey_id, as_staff=as_staff
            )
        return patient_id, generation

    try:
        patient_id, generation = asyncio.run(patient_of())
    except ValueError:
        patient_id, generation = None, 0
    if patient_id is None:
        typer.echo(f"no journey {journey_id}", err=True)
        raise typer.Exit(2)
    typer.echo(
        mint_patient_link(
            settings, journey_id=journey_id, patient_id=patient_id, generation=generation
        )
    )


deployment_app = typer.Typer(
    help="Worker versions: which build takes new tasks, which still run pinned follow-up "
    "years, promotion and rollback (docs/changing-workflow-code.md).",
    no_args_is_help=True,
)
app.add_typer(deployment_app, name="deployment")


def _deployment_state(settings: Settings) -> "DeploymentState | None":
    from integrations.temporal_client import connect_temporal
    from integrations.worker_deployment import describe_deployment

    async def read() -> "DeploymentState | None":
        client = await connect_temporal(settings)
        return await describe_deployment(
            client, settings.worker_deployment_name, task_queue=settings.task_queue
        )

    try:
        return asyncio.run(read())
    except RuntimeError as err:
        typer.echo(f"Temporal at {settings.temporal_target} does not answer: {err}", err=True)
        raise typer.Exit(1) from None


@deployment_app.command("build-id")
def deployment_build_id() -> None:
    """Print the build id this installation's worker runs as (JOURNEYS_WORKER_BUILD_ID, or
    the package version and a digest of its workflow code)."""
    from integrations.worker_deployment import build_id

    typer.echo(build_id(get_settings()))


@deployment_app.command("current")
def deployment_current() -> None:
    """Print the build id of the version that takes new tasks; exit 1 when there is none."""
    settings = get_settings()
    state = _deployment_state(settings)
    if state is None or state.current is None:
        typer.echo(
            f"deployment {settings.worker_deployment_name} has no current version: new tasks "
            "go to unversioned workers",
            err=True,
        )
        raise typer.Exit(1)
    typer.echo(state.current)


@deployment_app.command("versions")
def deployment_versions(
    as_json: bool = typer.Option(False, "--json", help="one JSON document on stdout"),
) -> None:
    """List the deployment's versions, newest first: status (current, ramping, draining while
    pinned runs are open on it, drained), and the workers seen polling each lately."""
    import json

    settings = get_settings()
    state = _deployment_state(settings)
    name, queue = settings.worker_deployment_name, settings.task_queue
    if as_json:
        versions = state.versions if state else ()
        typer.echo(
            json.dumps(
                {
                    "deployment": name,
                    "task_queue": queue,
                    "current": state.current if state else None,
                    "ramping": state.ramping if state else None,
                    "ramp_percentage": state.ramp_percentage if state else 0.0,
                    "versions": [
                        {
                            "build_id": v.build_id,
                            "status": v.status,
                            "created": v.created.isoformat() if v.created else None,
                            "drainage_checked": v.drainage_checked.isoformat()
                            if v.drainage_checked
                            else None,
                            "pollers": list(v.pollers),
                        }
                        for v in versions
                    ],
                    "unversioned_pollers": list(state.unversioned_pollers) if state else [],
                },
                indent=2,
            )
        )
        return
    if state is None:
        typer.echo(f"deployment {name}: no worker of it has polled yet")
        return
    ramp = f", {state.ramping} ramping at {state.ramp_percentage:g}%" if state.ramping else ""
    typer.echo(f"deployment {name}: current {state.current or 'none'}{ramp}")
    width = max([len("BUILD ID"), *(len(v.build_id) for v in state.versions)])
    typer.echo(f"  {'BUILD ID':<{width}}  {'STATUS':<9}  {'CREATED (UTC)':<16}  POLLERS ({queue})")
    for v in state.versions:
        created = f"{v.created:%Y-%m-%d %H:%M}" if v.created else "-"
        pollers = f"{len(v.pollers)} {' '.join(v.pollers)}".rstrip()
        typer.echo(f"  {v.build_id:<{width}}  {v.status:<9}  {created:<16}  {pollers}")
    if state.unversioned_pollers:
        typer.echo(
            f"unversioned workers polling: {' '.join(state.unversioned_pollers)} "
            f"({'they take no new tasks' if state.current else 'they take every task'})"
        )


PROMOTE_SETTLES_WITHIN = 30.0


@deployment_app.command("promote")
def deployment_promote(
    build: str = typer.Argument(..., metavar="BUILD_ID", help="the version to make current"),
    force: bool = typer.Option(
        False, "--force", help="promote a build none of whose workers has polled lately"
    ),
) -> None:
    """Make a build the current version: new journeys start on it and every journey moves to
    it at its next task; follow-up years move at their next continue-as-new. Promoting the
    previous build again is the rollback."""
    from temporalio.common import WorkerDeploymentVersion

    from integrations.temporal_client import connect_temporal
    from integrations.worker_deployment import PromotionRefused, promote, wait_until_current

    settings = get_settings()
    name = settings.worker_deployment_name
    state = _deployment_state(settings)
    if state is not None and state.current == build:
        typer.echo(f"{build} is already the current version of {name}")
        return

    async def run() -> str | None:
        client = await connect_temporal(settings)
        version = WorkerDeploymentVersion(deployment_name=name, build_id=build)
        before = await promote(
            client,
            version,
            identity=f"{client.identity} journeys deployment promote",
            conflict_token=state.conflict_token if state else b"",
            allow_no_pollers=force,
        )
        # Answer once the task queues route to it, so that what follows (a `drain`) sees it.
        await wait_until_current(client, version, within=PROMOTE_SETTLES_WITHIN)
        return before

    try:
        before = asyncio.run(run())
    except PromotionRefused as refused:
        typer.echo(f"{build} not promoted: {refused}", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"{build} is now the current version of {name} (was {before or 'none'})")
    if before:
        typer.echo(
            f"Keep the workers of {before} running until `journeys deployment versions` shows "
            f"it drained; `journeys deployment drain {before}` moves the follow-up years "
            "pinned to it now."
        )


@deployment_app.command("drain")
def deployment_drain(
    build: str = typer.Argument(..., metavar="BUILD_ID", help="a version no longer current"),
) -> None:
    """Move the follow-up years pinned to an old build to the current one now: each continues
    as new on it at once, not at its next calendar event, which can be months away."""
    from temporalio.common import WorkerDeploymentVersion

    from integrations.temporal_client import connect_temporal
    from integrations.worker_deployment import wake_pinned
    from workflows.follow_up import FollowUp

    settings = get_settings()
    name = settings.worker_deployment_name
    state = _deployment_state(settings)
    if state is None or state.version(build) is None:
        typer.echo(f"deployment {name} has no version {build}", err=True)
        raise typer.Exit(1)
    if state.current == build:
        typer.echo(f"{build} is the current version: promote another build first", err=True)
        raise typer.Exit(1)

    async def run() -> int:
        client = await connect_temporal(settings)
        return await wake_pinned(
            client,
            WorkerDeploymentVersion(deployment_name=name, build_id=build),
            workflow_type="FollowUp",
            signal=FollowUp.look_for_new_build.__name__,
        )

    woken = asyncio.run(run())
    typer.echo(
        f"woke {woken} follow-up year(s) pinned to {build}; `journeys deployment versions` "
        "shows it drained once no pinned run is left on it"
    )


audit_app = typer.Typer(help="The tamper-evident audit log.", no_args_is_help=True)
app.add_typer(audit_app, name="audit")
register_audit_commands(app, audit_app)
register_privacy_commands(app, audit_app)


def main() -> NoReturn:
    """Run one command, then leave with its exit status without the interpreter's teardown.

    The Temporal client's native (Rust core) threads can still be returning from a call into
    Python when the interpreter finalizes; about one run in twenty then aborts with
    "Fatal Python error: PyGILState_Release" and status 134 instead of the status the command
    chose (temporalio/sdk-python#300, open; the SDK has no way to stop those threads). So once
    the command is done, the process runs the exit handlers and flushes its output as a normal
    exit would, and ends with `os._exit`, which no thread can interrupt.
    """
    try:
        app()
    except SystemExit as done:
        status = _exit_status(done.code)
    except BaseException:
        # What the interpreter does with an uncaught exception (typer's hook formats it).
        sys.excepthook(*sys.exc_info())
        status = 1
    else:
        status = 0
    _leave(status)


def _exit_status(code: object) -> int:
    """The status `sys.exit(code)` gives: None is 0, a message is printed and gives 1."""
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    typer.echo(str(code), err=True)
    return 1


def _leave(status: int) -> NoReturn:
    # The exit handlers stop what commands registered there (the embedded PostgreSQL, the
    # letter font's temporary folder); os._exit would skip them and Python's stream buffers.
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            # Output that could not be written is a failure, as at a normal exit (status 120).
            status = status or 120
    os._exit(status)


if __name__ == "__main__":
    main()
