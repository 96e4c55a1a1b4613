"""The `journeys` command's privacy commands: erase, legal holds, and who accessed a patient's
data. Each writes its row in the audit log before it acts or prints (`audit/accesses.py`)."""

import asyncio
import json
import uuid
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, TypeVar

import typer

import command_settings as checks
from audit.command_row import AS_HELP, audit_command
from settings import Settings, get_settings

if TYPE_CHECKING:
    import asyncpg

T = TypeVar("T")

legal_hold_app = typer.Typer(
    help="Legal holds: keep a journey's records from erasure (privacy officers).",
    no_args_is_help=True,
)


def _journey_id(value: str) -> str:
    try:
        return str(uuid.UUID(value.removeprefix("journey-")))
    except ValueError:
        typer.echo(f"not a journey id: {value!r}", err=True)
        raise typer.Exit(2) from None


def _run(work: Callable[[], Coroutine[object, object, T]]) -> T:
    """Run a privacy step; a refusal is its message on stderr and exit status 1."""
    from privacy.refusals import PrivacyRefused

    try:
        return asyncio.run(work())
    except PrivacyRefused as err:
        typer.echo(err.detail, err=True)
        raise typer.Exit(1) from None


async def _pool(settings: Settings) -> "asyncpg.Pool":
    from db.pool import create_pool

    return await create_pool(settings.require_database_url(), min_size=1, max_size=2)


def erase(
    journey_id: str,
    reason: str = typer.Option(
        "", help="why (for the record; no health data): required unless --request is given"
    ),
    request: str | None = typer.Option(None, help="carry out this erasure request"),
    as_staff: str | None = typer.Option(None, "--as", help=AS_HELP),
) -> None:
    """Erase a journey's personal data (GDPR Art. 17), withdrawing it first if it runs.

    Refused, with nothing changed, for an unknown or erased journey and under a legal hold,
    and when a setting it needs is missing or wrong.
    """
    from domain.actors import Actor, Role
    from domain.names import journey_workflow_id
    from privacy.erasure import erase as erase_journey

    settings = get_settings()
    journey_id = _journey_id(journey_id)
    if not reason.strip() and request is None:
        typer.echo("give --reason (or --request)", err=True)
        raise typer.Exit(2)

    async def work() -> str:
        # Everything the erasure needs, checked before its first step (the withdrawal) is
        # taken: the journey's answers are encrypted as its history is, and a worker carries
        # out both the withdrawal and the erasure.
        await checks.database_answers(settings)
        client = await checks.temporal_client(settings, stores=True)
        await checks.worker_polls(client, settings)
        await checks.history_readable(
            client, settings, journey_workflow_id(journey_id), f"journey {journey_id}'s history"
        )
        actor_id, _ = await audit_command(
            settings,
            action="erase",
            journey_id=journey_id,
            as_staff=as_staff,
            role=Role.PRIVACY_OFFICER.value,
        )
        pool = await _pool(settings)
        try:
            record = await erase_journey(
                pool,
                client,
                journey_id,
                actor=Actor(id=actor_id, role=Role.PRIVACY_OFFICER),
                reason=reason.strip() or None,
                request_id=request,
                task_queue=settings.task_queue,
                within=max(settings.step_answer_seconds, 120.0),
            )
        finally:
            await pool.close()
        return (
            f"erased journey {record.journey_id} on {record.erased_at:%Y-%m-%d %H:%M} UTC "
            f"({sum(record.changed.values())} rows removed or overwritten)"
        )

    typer.echo(_run(work))


def _hold(journey_id: str, reason: str, as_staff: str | None, *, lift: bool) -> None:
    from domain.actors import Actor, Role
    from privacy.erasure import lift_hold, place_hold

    settings = get_settings()
    journey_id = _journey_id(journey_id)
    if not 1 <= len(reason.strip()) <= 500:
        typer.echo("give --reason, up to 500 characters", err=True)
        raise typer.Exit(2)

    async def work() -> str:
        actor_id, _ = await audit_command(
            settings,
            action="legal_hold_lift" if lift else "legal_hold_place",
            journey_id=journey_id,
            as_staff=as_staff,
            role=Role.PRIVACY_OFFICER.value,
        )
        pool = await _pool(settings)
        try:
            actor = Actor(id=actor_id, role=Role.PRIVACY_OFFICER)
            step = lift_hold if lift else place_hold
            hold = await step(pool, journey_id, actor=actor, reason=reason.strip())
        finally:
            await pool.close()
        if lift:
            return f"legal hold on journey {journey_id} lifted"
        return f"legal hold placed on journey {journey_id} ({hold.hold_id})"

    typer.echo(_run(work))


@legal_hold_app.command("place")
def place(
    journey_id: str,
    reason: str = typer.Option(..., help="why the records must be kept (no health data)"),
    as_staff: str | None = typer.Option(None, "--as", help=AS_HELP),
) -> None:
    """Keep a journey's records from erasure until the hold is lifted."""
    _hold(journey_id, reason, as_staff, lift=False)


@legal_hold_app.command("lift")
def lift(
    journey_id: str,
    reason: str = typer.Option(..., help="why the hold ends"),
    as_staff: str | None = typer.Option(None, "--as", help=AS_HELP),
) -> None:
    """Lift a journey's legal hold; the retention schedule may then erase it."""
    _hold(journey_id, reason, as_staff, lift=True)


def accesses(
    journey: str = typer.Option(..., "--journey", help="the journey whose accesses to list"),
    as_json: bool = typer.Option(False, "--json", help="JSON instead of a table"),
    as_staff: str | None = typer.Option(None, "--as", help=AS_HELP),
) -> None:
    """Who accessed one patient's data: who, in which role, what, when (from the audit log)."""
    from db.accesses import AccessRepository
    from privacy.export import access_json

    settings = get_settings()
    journey_id = _journey_id(journey)

    async def work() -> list[dict[str, object]]:
        await audit_command(
            settings, action="audit_accesses", journey_id=journey_id, as_staff=as_staff
        )
        conn = await checks.connect_database(settings)
        try:
            found = await AccessRepository(conn).for_journey(journey_id=journey_id)
        finally:
            await conn.close()
        return [access_json(a) | {"actor_name": a.actor_name} for a in found]

    rows = asyncio.run(work())
    if as_json:
        typer.echo(json.dumps({"journey_id": journey_id, "accesses": rows}, indent=1))
        return
    for r in rows:
        who = f"{r['actor_name']} ({r['actor_id']})" if r["actor_name"] else r["actor_id"]
        typer.echo(f"{r['at']}  {who}  {r['actor_role']}  {r['action']}  {r['status'] or ''}")
    typer.echo(f"{len(rows)} access(es) to journey {journey_id}")


def register(app: typer.Typer, audit_app: typer.Typer) -> None:
    """Add the privacy commands to the `journeys` command."""
    app.command()(erase)
    app.add_typer(legal_hold_app, name="legal-hold")
    audit_app.command("accesses")(accesses)
