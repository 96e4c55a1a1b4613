"""The row a `journeys` command writes in the audit log before it shows a patient's data or
acts on it, and does neither when the row cannot be written (`audit/accesses.py`). The privacy
officers' commands (privacy/commands.py), the auditors' (audit/commands.py) and cli.py's own
write it through `audit_command`."""

import typer

import command_settings as checks
from settings import Settings

AS_HELP = "the staff id acting (an active member of staff); default: your OS account"


async def audit_command(
    settings: Settings,
    *,
    action: str,
    journey_id: str | None = None,
    as_staff: str | None = None,
    role: str | None = None,
    detail: dict[str, object] | None = None,
) -> tuple[str, str]:
    """Write the command's audit row; (actor id, role). Exits 2 when `--as` names no active
    member of staff (with `role`, when given), or the audit key is not the log's; nothing is
    shown or done then."""
    from audit.accesses import UnknownStaff, command_actor, record_command

    checks.require_database_url(settings)
    key = checks.audit_key(settings)
    conn = await checks.connect_database(settings)
    try:
        try:
            actor = await command_actor(conn, as_staff, role=role)
        except UnknownStaff as err:
            typer.echo(str(err), err=True)
            raise typer.Exit(2) from None
        await checks.audit_key_seals_log(conn, key)
        await record_command(
            conn,
            key,
            actor,
            action=f"cli.{action}",
            journey_id=journey_id,
            detail=detail,
        )
    finally:
        await conn.close()
    return actor.id, actor.role
