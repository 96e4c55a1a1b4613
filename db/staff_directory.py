"""The staff directory's one way in: adding, changing, deactivating and reactivating members of
staff, each checked, written and audited in one transaction.

The console's directory (`api/console/directory.py`), `journeys staff add` and the demo staff
of `journeys dev` (`devstack/demo_staff.py`) all change the directory here, so a member is
checked the same whoever adds them. What is refused is refused field by field
(`domain.staff.StaffRefused`), with nothing written.

Each write takes the directory's lock first, so that two administrators cannot both give the
same id, email or sign-in subject; each leaves one row in the audit log (`staff.add`,
`staff.change`, `staff.deactivate`, `staff.reactivate`), in the same transaction as the
change, naming who made it. Rows hold ids and codes: which fields changed, never their values.

Deactivating a case manager or a specialist leaves their open journeys to be reassigned: the
worklist puts them before the coordinators (`db/worklist.py`), and the deactivation's row in
`staff_deactivations` lists them for the coordinators' email (`api/staff_mailer.py`), which
the caller sends once the change is committed. Every console session of the member ends.
"""

from collections.abc import Mapping
from dataclasses import dataclass, fields

import asyncpg

from audit.log import AuditLog
from db.console_sessions import ConsoleSessionRepository
from db.staff import StaffRepository
from domain.actors import Role
from domain.staff import (
    FieldProblem,
    StaffProblem,
    StaffRecord,
    StaffRefused,
    check_member,
    email_address,
)

# Serialises the directory's writes (any constant: it only keeps two writers apart).
_DIRECTORY_LOCK = 724_190_016
# Whose open journeys go back to the coordinators when they leave.
REASSIGNED_ROLES = frozenset({Role.CASE_MANAGER, Role.SPECIALIST})


class UnknownMember(LookupError):
    """No member of staff has this id."""


@dataclass(frozen=True)
class Acting:
    """Who changes the directory, and from where (an address tag, or the command's host)."""

    actor_id: str
    actor_role: str
    source: str | None = None


@dataclass(frozen=True)
class Deactivation:
    """A member made inactive, and the open journeys they left for the coordinators."""

    deactivation_id: int
    staff_id: str
    role: Role
    journeys: tuple[str, ...]
    message_id: str


def deactivation_message_id(deactivation_id: int, domain: str) -> str:
    """The coordinators' email about one deactivation: the same id whenever it is sent."""
    return f"<staff-deactivation-{deactivation_id}@{domain}>"


class StaffDirectory:
    """Changes the directory for `acting`, audited under `audit_key`. Takes a connection; the
    caller owns the pool. `mail_domain` names the Message-IDs of the coordinators' emails."""

    def __init__(
        self,
        conn: asyncpg.Connection,
        *,
        audit_key: bytes,
        acting: Acting,
        mail_domain: str = "journeys.localhost",
    ) -> None:
        self._conn = conn
        self._repo = StaffRepository(conn)
        self._audit = AuditLog(conn, audit_key)
        self._acting = acting
        self._domain = mail_domain

    async def add(self, values: Mapping[str, str]) -> StaffRecord:
        """A new member from the form's `values`; refused when a field is not right, or the
        id, the email or the sign-in subject is another member's (every problem at once)."""
        record, problems = _checked(values, new=True)
        async with self._conn.transaction():
            await self._lock()
            staff_id = (values.get("staff_id") or "").strip()
            if "staff_id" not in problems and await self._repo.record(staff_id=staff_id):
                problems["staff_id"] = FieldProblem(StaffProblem.ID_TAKEN, staff_id)
            problems = await self._taken(values, staff_id, problems)
            if problems or record is None:
                raise StaffRefused(problems)
            await self._repo.insert(record)
            await self._record(
                "staff.add", record.staff_id, {"role": record.role.value, **_shape(record)}
            )
        return record

    async def change(self, staff_id: str, values: Mapping[str, str]) -> StaffRecord:
        """Member `staff_id` as the form's `values` say (their id stays theirs)."""
        record, problems = _checked({**values, "staff_id": staff_id}, new=False)
        async with self._conn.transaction():
            await self._lock()
            before = await self._repo.record(staff_id=staff_id)
            if before is None:
                raise UnknownMember(staff_id)
            problems = await self._taken(values, staff_id, problems)
            if record is not None and record.role is not before.role:
                held = await self._repo.open_journeys(staff_id=staff_id, role=before.role.value)
                if staff_id == self._acting.actor_id:
                    problems["role"] = FieldProblem(StaffProblem.OWN_ROLE)
                elif await self._last_admin(before):
                    problems["role"] = FieldProblem(StaffProblem.LAST_ADMIN)
                elif held:
                    # Their journeys would name someone who no longer holds the role.
                    problems["role"] = FieldProblem(StaffProblem.HOLDS_JOURNEYS, str(len(held)))
            if problems or record is None:
                raise StaffRefused(problems)
            changed = _changed(before, record)
            if not changed:
                return before
            await self._repo.update(record)
            detail: dict[str, object] = {"fields": changed}
            if "role" in changed:
                detail |= {"role": record.role.value, "role_before": before.role.value}
            await self._record("staff.change", staff_id, detail | _shape(record))
        return record

    async def deactivate(self, staff_id: str) -> Deactivation | None:
        """Member `staff_id` can no longer sign in or be given anything; their sessions end.
        None when they were inactive already."""
        async with self._conn.transaction():
            await self._lock()
            record = await self._repo.record(staff_id=staff_id)
            if record is None:
                raise UnknownMember(staff_id)
            if not record.active:
                return None
            if staff_id == self._acting.actor_id:
                raise StaffRefused({"active": FieldProblem(StaffProblem.OWN_ACCOUNT)})
            if await self._last_admin(record):
                raise StaffRefused({"active": FieldProblem(StaffProblem.LAST_ADMIN)})
            await self._repo.set_active(staff_id=staff_id, active=False)
            journeys = (
                await self._repo.open_journeys(staff_id=staff_id, role=record.role.value)
                if record.role in REASSIGNED_ROLES
                else []
            )
            sessions = await ConsoleSessionRepository(self._conn).end_for_staff(
                staff_id=staff_id, reason="deactivated", keep_role=None
            )
            deactivation_id: int = await self._conn.fetchval(
                "SELECT nextval(pg_get_serial_sequence('staff_deactivations', 'deactivation_id'))"
            )
            message_id = deactivation_message_id(deactivation_id, self._domain)
            await self._conn.execute(
                """INSERT INTO staff_deactivations (deactivation_id, staff_id, role, journeys,
                                                    deactivated_by, message_id)
                   VALUES ($1, $2, $3, $4::uuid[], $5, $6)""",
                deactivation_id,
                staff_id,
                record.role.value,
                journeys,
                self._acting.actor_id,
                message_id,
            )
            await self._record(
                "staff.deactivate",
                staff_id,
                {
                    "role": record.role.value,
                    "journeys": len(journeys),
                    "sessions": sessions,
                    "deactivation": deactivation_id,
                },
            )
        return Deactivation(deactivation_id, staff_id, record.role, tuple(journeys), message_id)

    async def reactivate(self, staff_id: str) -> bool:
        """Member `staff_id` may sign in and be given journeys again; False when they were
        active already. What they had is not given back: their journeys were reassigned."""
        async with self._conn.transaction():
            await self._lock()
            record = await self._repo.record(staff_id=staff_id)
            if record is None:
                raise UnknownMember(staff_id)
            if not await self._repo.set_active(staff_id=staff_id, active=True):
                return False
            await self._record("staff.reactivate", staff_id, {"role": record.role.value})
        return True

    async def _lock(self) -> None:
        await self._conn.execute("SELECT pg_advisory_xact_lock($1)", _DIRECTORY_LOCK)

    async def _taken(
        self, values: Mapping[str, str], staff_id: str, problems: dict[str, FieldProblem]
    ) -> dict[str, FieldProblem]:
        """`problems`, and the email and the sign-in subject of `values` that another member
        has (where those fields are not refused already)."""
        found = dict(problems)
        email = email_address(values.get("email") or "")
        if "email" not in found and email is not None:
            holder = await self._repo.holder_of(email=email)
            if holder is not None and holder != staff_id:
                found["email"] = FieldProblem(StaffProblem.EMAIL_TAKEN, email)
        subject = (values.get("oidc_subject") or "").strip() or staff_id
        if "oidc_subject" not in found and subject:
            holder = await self._repo.holder_of(oidc_subject=subject)
            if holder is not None and holder != staff_id:
                found["oidc_subject"] = FieldProblem(StaffProblem.SUBJECT_TAKEN, subject)
        return found

    async def _last_admin(self, record: StaffRecord) -> bool:
        """Whether `record` is the one active staff administrator: without them nobody could
        change the directory from the console."""
        return (
            record.active
            and record.role is Role.STAFF_ADMIN
            and await self._repo.active_with_role(role=Role.STAFF_ADMIN.value) <= 1
        )

    async def _record(self, action: str, staff_id: str, detail: dict[str, object]) -> None:
        acting = self._acting
        await self._audit.append(
            actor_id=acting.actor_id,
            actor_role=acting.actor_role,
            action=action,
            source=acting.source,
            detail={"staff_id": staff_id, **detail},
        )


def _checked(
    values: Mapping[str, str], *, new: bool
) -> tuple[StaffRecord | None, dict[str, FieldProblem]]:
    """The member `values` describe, or None with each field's problem."""
    try:
        return check_member(values, new=new), {}
    except StaffRefused as refused:
        return None, dict(refused.problems)


def _changed(before: StaffRecord, after: StaffRecord) -> list[str]:
    """The names of the fields that differ, in the record's order: all but the id, which
    names the member, and whether they are active, which `deactivate` and `reactivate`
    change."""
    names = [f.name for f in fields(StaffRecord) if f.name not in ("staff_id", "active")]
    return [n for n in names if _value(before, n) != _value(after, n)]


def _value(record: StaffRecord, name: str) -> object:
    if name == "hours":
        return {day: tuple(v) for day, v in record.hours.items() if v}
    return getattr(record, name)


def _shape(record: StaffRecord) -> dict[str, object]:
    """What the audit row may say of a member besides their id and role: codes and counts."""
    shape: dict[str, object] = {"languages": list(record.languages), "time_zone": record.time_zone}
    if record.role is Role.SPECIALIST:
        shape["consult_minutes"] = record.consult_minutes
        shape["hours"] = {
            str(day): [str(i) for i in intervals] for day, intervals in record.hours.items()
        }
    return shape
