"""`journeys staff`: the staff directory from the command line, for a deployment's first staff
administrator (whom nobody can add in the console before there is one) and for scripts.

`journeys staff add` adds a member exactly as the console's directory does
(`db/staff_directory.py`): checked field by field, and audited in the same transaction, as the
member of staff named by `--as` (an active staff administrator) or else as the operating-system
account that ran it (`os:<user>`, role `operator`). `journeys staff list` prints the directory.
"""

import asyncio
import socket

import typer

import command_settings as checks
from settings import get_settings

staff_app = typer.Typer(
    help="The staff directory: add a member (the first staff administrator), list them.",
    no_args_is_help=True,
)
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def _hours(values: list[str]) -> dict[str, str]:
    """`mon=09:00-13:00,15:00-18:00` options as the form's `hours_0` fields."""
    fields: dict[str, str] = {}
    for value in values:
        day, _, text = value.partition("=")
        if day.strip().lower() not in DAYS or not text.strip():
            typer.echo(
                f"--hours {value!r}: write a day and its hours, such as mon=09:00-13:00", err=True
            )
            raise typer.Exit(2)
        fields[f"hours_{DAYS.index(day.strip().lower())}"] = text
    return fields


@staff_app.command("add")
def add(
    staff_id: str = typer.Option(..., "--id", help="the staff id, for good"),
    name: str = typer.Option(..., "--name", help="full name"),
    email: str = typer.Option(..., "--email"),
    phone: str = typer.Option(
        "", "--phone", help="a work phone with + and the country code: +34 600 123 456"
    ),
    role: str = typer.Option(
        ...,
        "--role",
        help="coordinator, case_manager, specialist, reviewer, medical_lead, "
        "auditor, privacy_officer or staff_admin",
    ),
    languages: list[str] = typer.Option(
        ["en"], "--language", help="a BCP-47 tag they work in; repeat it, most used first"
    ),
    time_zone: str = typer.Option("UTC", "--time-zone", help="an IANA time zone"),
    subject: str = typer.Option(
        "", "--subject", help="the sign-in provider's subject (sub); default: the staff id"
    ),
    hours: list[str] = typer.Option(
        [], "--hours", help="a specialist's day: mon=09:00-13:00,15:00-18:00; repeat per day"
    ),
    consult_minutes: int | None = typer.Option(
        None, "--consult-minutes", help="a specialist's consultation length"
    ),
    calendar_url: str = typer.Option("", "--calendar-url", help="a specialist's CalDAV calendar"),
    as_staff: str | None = typer.Option(
        None, "--as", help="the active staff administrator acting; default: your OS account"
    ),
) -> None:
    """Add a member of staff. Refused, with nothing changed, for each field that is not right
    (its problem on a line of its own) and for an id, email or subject already taken."""
    from audit.accesses import OPERATOR_ROLE, CommandActor, UnknownStaff, command_actor, os_account
    from db.staff_directory import Acting, StaffDirectory
    from domain.actors import Role
    from domain.staff import StaffRefused

    settings = get_settings()
    values = {
        "staff_id": staff_id,
        "full_name": name,
        "email": email,
        "phone": phone,
        "role": role,
        "languages": ", ".join(languages),
        "time_zone": time_zone,
        "oidc_subject": subject,
        "calendar_url": calendar_url,
        "consult_minutes": "" if consult_minutes is None else str(consult_minutes),
        **_hours(hours),
    }

    async def work() -> None:
        key = checks.audit_key(settings)
        conn = await checks.connect_database(settings)
        try:
            await checks.audit_key_seals_log(conn, key)
            actor = CommandActor(os_account(), OPERATOR_ROLE)
            if as_staff is not None:
                try:
                    actor = await command_actor(conn, as_staff, role=Role.STAFF_ADMIN.value)
                except UnknownStaff as err:
                    typer.echo(str(err), err=True)
                    raise typer.Exit(2) from None
            acting = Acting(actor.id, actor.role, f"cli:{socket.gethostname()}")
            directory = StaffDirectory(conn, audit_key=key, acting=acting)
            try:
                record = await directory.add(values)
            except StaffRefused as refused:
                for field, problem in refused.problems.items():
                    typer.echo(f"{field}: {problem.english}", err=True)
                raise typer.Exit(1) from None
        finally:
            await conn.close()
        typer.echo(f"added {record.staff_id} ({record.role.value})")

    asyncio.run(work())


@staff_app.command("list")
def list_staff() -> None:
    """Print the directory: id, role, active or not, time zone, languages, name and work phone
    (empty when none is on file)."""
    from db.staff import StaffRepository

    settings = get_settings()

    async def work() -> None:
        conn = await checks.connect_database(settings)
        try:
            members = await StaffRepository(conn).directory()
        finally:
            await conn.close()
        for m in members:
            state = "active" if m.active else "inactive"
            languages = ",".join(m.languages)
            typer.echo(
                f"{m.staff_id}\t{m.role}\t{state}\t{m.time_zone}\t{languages}\t{m.full_name}"
                f"\t{m.phone or ''}"
            )

    asyncio.run(work())
