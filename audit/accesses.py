"""The `journeys` command's own rows in the audit log, and who accessed a patient's data.

A command that shows a patient's data or acts on it writes its row before it prints or acts,
and does neither when the row cannot be written, as the API does. Who: the member of staff
named by `--as` (who must be on file and active), or else the operating-system account that
ran it, `os:<user>`: whoever runs the command holds the database's credentials, so that
account is what can be said of them.
"""

import getpass
import socket
from dataclasses import dataclass
from typing import Any

import asyncpg

from audit.log import AuditLog
from db.staff import StaffRepository

OPERATOR_ROLE = "operator"
"""The role recorded for an operating-system account acting through the command."""


class UnknownStaff(Exception):
    """`--as` names no active member of staff (or not one with the role the command needs)."""


@dataclass(frozen=True)
class CommandActor:
    id: str
    role: str


def os_account() -> str:
    try:
        return f"os:{getpass.getuser()}"
    except (KeyError, OSError):
        return "os:unknown"


async def command_actor(
    conn: asyncpg.Connection, as_staff: str | None, *, role: str | None = None
) -> CommandActor:
    """Who runs the command: the active member of staff `as_staff` (holding `role`, when
    given), else the operating-system account in `role` (or as an operator)."""
    if as_staff is None:
        return CommandActor(os_account(), role or OPERATOR_ROLE)
    member = await StaffRepository(conn).active_member(staff_id=as_staff)
    if member is None or (role is not None and member.role != role):
        needed = f" with the role {role}" if role else ""
        raise UnknownStaff(f"no active member of staff {as_staff!r}{needed}")
    return CommandActor(member.staff_id, member.role)


async def record_command(
    conn: asyncpg.Connection,
    key: bytes,
    actor: CommandActor,
    *,
    action: str,
    journey_id: str | None = None,
    detail: dict[str, Any] | None = None,
) -> int:
    """Append the command's row (committed when this returns); its seq."""
    return await AuditLog(conn, key).append(
        actor_id=actor.id,
        actor_role=actor.role,
        action=action,
        journey_id=journey_id,
        source=f"cli:{socket.gethostname()}",
        detail={"via": "cli", **(detail or {})},
    )
