"""The `journeys` command: the local stack, the worker, the API, the database and audits."""

import asyncio
import atexit
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

import typer
from pydantic import ValidationError

import command_settings as checks
from audit.command_row import AS_HELP, audit_command
from audit.commands import register as register_audit_commands
from db.staff_commands import staff_app
from privacy.commands import register as register_privacy_commands
from settings import InsecureSettings, Settings, env_name, get_settings

if TYPE_CHECKING:
    from integrations.worker_deployment import DeploymentState

app = typer.Typer(
    help="Patient-journey orchestrator: local stack, worker, API and operations. Settings "
    "come from JOURNEYS_* environment variables, then from --env-file or, beside a running "
    "`journeys dev`, from its .journeys/dev.env.",
    no_args_is_help=True,
    add_completion=False,
)


@app.callback()
def _settings_source(
    ctx: typer.Context,
    env_file: Path | None = typer.Option(
        None,
        "--env-file",
        help="read the settings the environment lacks from this dotenv file (JOURNEYS_*=…) "
        "instead of the running `journeys dev`'s",
    ),
    debug: bool = typer.Option(False, "--debug", help="print the traceback of an unexpected error"),
) -> None:
    checks.configure(env_file, ctx.invoked_subcommand, debug=debug)
    # Every command that reaches Temporal reads these files: checked before any command runs,
    # a missing or mismatched one is a line naming its setting, and nothing has connected.
    from integrations.temporal_tls import TemporalTlsError, temporal_tls

    try:
        temporal_tls(get_settings())
    except TemporalTlsError as err:
        typer.echo(str(err), err=True)
        raise typer.Exit(2) from None


@app.command()
def dev() -> None:
    """Start the whole local stack (PostgreSQL, Temporal with its UI, SMTP, worker, API)."""
    try:
        from devstack.ports import NotLoopback, PortTaken
        from devstack.stack import ensure_loopback_only, run_dev
    except ModuleNotFoundError:
        typer.echo(
            "the local development stack is not part of this installation: `journeys dev` "
            "runs from the project's source tree (make dev)",
            err=True,
        )
        raise typer.Exit(2) from None

    settings = get_settings()
    try:
        ensure_loopback_only(settings)
        status = asyncio.run(run_dev(settings, env_file=checks.source().file))
    except (NotLoopback, PortTaken) as err:
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
    checks.require_database_url(get_settings())
    checks.payload_keys(get_settings(), stores=True)
    _refuse_over_privileged(get_settings())
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
    checks.require_database_url(settings)
    checks.payload_keys(settings, stores=True)
    _refuse_over_privileged(settings)
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
            # Always given, so uvicorn's FORWARDED_ALLOW_IPS variable is never read instead.
            forwarded_allow_ips=settings.trusted_proxy_list,
            log_level=settings.log_level.lower(),
            # Logging is configured above: uvicorn's loggers write JSON lines through the root.
            log_config=None,
        )
    finally:
        if metrics is not None:
            metrics.stop()
        stop_tracing(tracing)


def _app_role(settings: Settings) -> str | None:
    """The role the worker and the API run as, when migrations run as another (the schema's
    owner, JOURNEYS_DATABASE_OWNER_URL) and must grant it its privileges."""
    from db.roles import role_of

    if not settings.database_owner_url:
        return None
    app_role = role_of(settings.require_database_url())
    return app_role if app_role != role_of(settings.database_owner_url) else None


def _refuse_over_privileged(settings: Settings) -> None:
    """In production, refuse to run the worker or the API as a role that could rewrite the
    audit log (db/roles.py); one line, before anything starts."""
    if settings.environment != "production":
        return
    from db.roles import OverPrivileged, refuse_over_privileged

    try:
        asyncio.run(refuse_over_privileged(settings.require_database_url()))
    except OverPrivileged as err:
        typer.echo(str(err), err=True)
        raise typer.Exit(2) from None


@app.command()
def migrate() -> None:
    """Apply the SQL migrations the database lacks, as the schema's owner
    (JOURNEYS_DATABASE_OWNER_URL, else JOURNEYS_DATABASE_URL), and grant the app's role."""
    from db.migrate import migrate_url

    settings = get_settings()

    async def run() -> list[str]:
        await checks.database_answers(settings, owner=True)
        return await migrate_url(
            settings.require_owner_database_url(), grant_to=_app_role(settings)
        )

    applied = asyncio.run(run())
    typer.echo(f"applied {len(applied)} migration(s): {', '.join(applied) or 'none needed'}")


@app.command()
def setup() -> None:
    """Prepare external services: migrations, search attributes, the namespace's history
    retention and the daily retention schedule."""
    from db.migrate import migrate_url
    from integrations.temporal_client import ensure_namespace, ensure_search_attributes
    from privacy.retention import ensure_retention_schedule, set_history_retention

    settings = get_settings()

    async def run() -> tuple[list[str], str]:
        # Both servers answer before either is changed; the schedule stores its payloads. The
        # namespace may be missing still: setup registers it.
        await checks.database_answers(settings, owner=True)
        client = await checks.temporal_client(settings, stores=True, namespace_must_exist=False)
        applied = await migrate_url(
            settings.require_owner_database_url(), grant_to=_app_role(settings)
        )
        await ensure_namespace(client, retention_days=settings.temporal_retention_days)
        await ensure_search_attributes(client)
        await set_history_retention(client, days=settings.temporal_retention_days)
        schedule = await ensure_retention_schedule(
            client, task_queue=settings.task_queue, retention_days=settings.retention_days
        )
        return applied, schedule

    applied, schedule = asyncio.run(run())
    grantee = _app_role(settings)
    granted = f"; privileges granted to {grantee}" if grantee else ""
    typer.echo(
        f"applied {len(applied)} migration(s){granted}; namespace {settings.temporal_namespace} "
        "ready; search attributes registered; closed histories "
        f"kept {settings.temporal_retention_days} days; retention schedule {schedule} "
        f"(erases closed journeys after {settings.retention_days} days)"
    )


@app.command(name="internal-certs")
def internal_certs(
    folder: Path = typer.Argument(..., help="where to write them (docker-compose.yml: ./certs)"),
    temporal_name: list[str] = typer.Option(
        ["temporal.internal"],
        "--temporal-name",
        help="a name the Temporal proxy's certificate holds (JOURNEYS_TEMPORAL_TLS_SERVER_NAME)",
    ),
    mail_name: list[str] = typer.Option(
        ["mailcatcher"], "--mail-name", help="a name the mail relay's certificate holds"
    ),
    days: int = typer.Option(365, min=1, max=825, help="how long the certificates last"),
) -> None:
    """Make a private CA and the certificates of the stack's own TLS (the proxy in front of
    Temporal, the app's client certificate, the mail relay); never the public site's."""
    from integrations.internal_pki import write_internal_certificates

    made = write_internal_certificates(
        folder, temporal_names=temporal_name, mail_names=mail_name, days=days
    )
    for path in (made.ca, *made.temporal_server, *made.temporal_client, *made.mail):
        typer.echo(str(path))


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
            "OIDC. On a development machine run it beside `journeys dev` (in the same folder), "
            "or as JOURNEYS_ENVIRONMENT=development journeys token …",
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
        conn = await checks.connect_database(settings)
        try:
            patient_id = await JourneyQueries(conn).patient_id(journey_id=journey_id)
            # A link of an earlier generation than the journey's would be refused.
            link = await PatientLinkRepository(conn).state(journey_id)
        finally:
            await conn.close()
        if patient_id is not None and link.erased_at is not None:
            typer.echo(
                f"journey {journey_id}: the patient's data was erased on "
                f"{link.erased_at:%Y-%m-%d}; no link opens it",
                err=True,
            )
            raise typer.Exit(1)
        generation = link.generation
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
app.add_typer(staff_app, name="staff")


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
    except checks.SettingProblem as problem:
        typer.echo(str(problem), err=True)
        status = 2
    except ValidationError as err:
        if err.title != Settings.__name__:
            _unexpected(err)
            status = 1
        else:
            typer.echo(_invalid_settings(err), err=True)
            status = 2
    except BaseException as err:
        _unexpected(err)
        status = 1
    else:
        status = 0
    _leave(status)


def _invalid_settings(err: ValidationError) -> str:
    """Each setting the environment (or the file) gives a value it cannot take, on one line."""
    problems = []
    for error in err.errors():
        name = env_name(str(error["loc"][0])) if error["loc"] else "a JOURNEYS_ setting"
        problems.append(f"{checks.source().name(name)}: {error['msg']}")
    return "; ".join(problems)


def _unexpected(err: BaseException) -> None:
    """An error no command expected: one line for an operator, the traceback when asked."""
    if checks.debug_requested():
        # What the interpreter does with an uncaught exception (typer's hook formats it).
        sys.excepthook(type(err), err, err.__traceback__)
        return
    typer.echo(
        f"journeys failed: {type(err).__name__}: {checks.one_line(err)} "
        "(--debug or JOURNEYS_LOG_LEVEL=DEBUG shows the traceback)",
        err=True,
    )


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
