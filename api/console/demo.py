"""Development only: sign in as one of the staff in the database, with one click.

`install_console` mounts this router only when `JOURNEYS_ENVIRONMENT=development`, so in
production the route does not exist (404) rather than existing and refusing.
"""

import asyncpg
from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from api.console.guards import NEXT_FIELD, ConsoleRefusal, complete_sign_in, console_gate
from api.deps import PoolDep
from api.tokens import Principal
from db.staff import StaffMember, StaffRepository
from domain.actors import Actor, Role
from domain.readers import STAFF_ROLES

router = APIRouter(prefix="/staff", dependencies=[Depends(console_gate)], include_in_schema=False)


async def demo_staff(pool: asyncpg.Pool) -> list[StaffMember]:
    """The active staff who may sign in here: those whose role is a staff role."""
    async with pool.acquire() as conn:
        members = await StaffRepository(conn).active_members()
    return [m for m in members if m.role in {r.value for r in STAFF_ROLES}]


@router.post("/sign-in/demo")
async def demo_sign_in(request: Request, pool: PoolDep) -> Response:
    form = await request.form()
    staff_id = form.get("staff_id")
    member = None
    if isinstance(staff_id, str) and staff_id:
        async with pool.acquire() as conn:
            member = await StaffRepository(conn).active_member(staff_id=staff_id)
    if member is None or member.role not in {r.value for r in STAFF_ROLES}:
        raise ConsoleRefusal(
            403,
            "not_staff",
            "console.sign_in_refused",
            actor_id=str(staff_id or "")[:120] or None,
            detail={"reason": "not_active_staff", "method": "development"},
        )
    principal = Principal(
        actor=Actor(id=member.staff_id, role=Role(member.role)), name=member.full_name
    )
    return await complete_sign_in(
        request, principal, method="development", target=form.get(NEXT_FIELD)
    )
