"""The staff directory at `/staff/directory`, for staff administrators: who works here, in
which role, languages and time zone, their work phone, how they sign in, and a specialist's
working hours and consultation length; adding, changing, deactivating and reactivating them.

Every change goes through `db/staff_directory.py`, as `journeys staff add` and the demo staff
do: a refused form comes back with each field's problem beside it, worded in the reader's
language, what was typed kept and nothing changed. Deactivating a case manager or a specialist
sends the coordinators their email (`api/staff_mailer.py`) once the change is committed; the
member's page says whether it left, and offers to send it again when it did not.
"""

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Annotated, Any

import asyncpg
from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from activities.email import message_id_domain
from api.console.guards import CSRF_FIELD, ConsoleRefusal, ViewerDep, audit_event, console_gate
from api.console.rendering import render
from api.console.viewer import Viewer
from api.deps import PoolDep, SettingsDep
from api.staff_mailer import StaffMailer
from audit.log import address_key, address_tag
from db.staff import StaffRepository
from db.staff_directory import Acting, StaffDirectory, UnknownMember
from domain.inquiry import time_zones
from domain.readers import KEEPS_STAFF_DIRECTORY
from domain.staff import (
    DEFAULT_CONSULT_MINUTES,
    DIRECTORY_ROLES,
    FieldProblem,
    StaffProblem,
    StaffRefused,
)
from domain.working_hours import WEEKDAYS
from i18n import day_names, translations
from settings import Settings

router = APIRouter(prefix="/staff", dependencies=[Depends(console_gate)], include_in_schema=False)

# What the member's page says after a change (`?done=`).
DONE = frozenset({"added", "saved", "deactivated", "reactivated", "notified"})


async def _keeper(viewer: ViewerDep) -> Viewer:
    """Only staff administrators open the directory; anyone else gets the 403 page."""
    if viewer.principal.actor.role not in KEEPS_STAFF_DIRECTORY:
        raise ConsoleRefusal(403, "directory_forbidden", None)
    return viewer


KeeperDep = Annotated[Viewer, Depends(_keeper)]


def _acting(request: Request, viewer: Viewer, settings: Settings) -> Acting:
    """The administrator, and the tag of their address, as the request's own audit row has it
    (the same key as the app's `AuditWriter`, api/app.py)."""
    client = request.client
    key = (
        settings.address_key.get_secret_value().encode()
        if settings.address_key
        else address_key(request.app.state.audit_key)
    )
    actor = viewer.principal.actor
    return Acting(
        actor_id=actor.id,
        actor_role=actor.role.value,
        source=address_tag(key, client.host) if client else None,
    )


@asynccontextmanager
async def _directory(
    pool: asyncpg.Pool, request: Request, viewer: Viewer, settings: Settings
) -> AsyncIterator[StaffDirectory]:
    """The directory, kept as the viewer; a member it does not know is the console's 404."""
    async with pool.acquire() as conn:
        try:
            yield StaffDirectory(
                conn,
                audit_key=request.app.state.audit_key,
                acting=_acting(request, viewer, settings),
                mail_domain=message_id_domain(settings.mail_from),
            )
        except UnknownMember:
            raise ConsoleRefusal(404, "no_member", None) from None


def _mailer(request: Request) -> StaffMailer:
    mailer: StaffMailer = request.app.state.staff_mailer
    return mailer


def _typed(form: Mapping[str, Any]) -> dict[str, str]:
    return {k: v for k, v in form.items() if isinstance(v, str) and k != CSRF_FIELD}


def problem_text(problem: FieldProblem, language: str) -> str:
    """A refused field's problem in `language`."""
    _ = translations(language).gettext
    day = day_names(language, "wide")[problem.day] if problem.day is not None else ""
    value = problem.value
    texts: dict[StaffProblem, str] = {
        StaffProblem.REQUIRED: _("Fill this in."),
        StaffProblem.TOO_LONG: _("Write at most %(count)s characters.") % {"count": value},
        StaffProblem.ID_FORMAT: _(
            "Use letters, digits and . _ @ - only, starting with a letter or a digit."
        ),
        StaffProblem.ID_TAKEN: _("%(value)s is already the id of a member of staff.")
        % {"value": value},
        StaffProblem.ID_RESERVED: _("%(value)s names a page of the directory; choose another id.")
        % {"value": value},
        StaffProblem.EMAIL_FORMAT: _("%(value)s is not an email address.") % {"value": value},
        StaffProblem.EMAIL_TAKEN: _("%(value)s is already the email of a member of staff.")
        % {"value": value},
        StaffProblem.PHONE_FORMAT: _(
            "%(value)s is not an international phone number: write + and the country code "
            "first, such as +34 600 123 456."
        )
        % {"value": value},
        StaffProblem.SUBJECT_TAKEN: _("%(value)s already signs in another member of staff.")
        % {"value": value},
        StaffProblem.ROLE_UNKNOWN: _("Choose one of the roles."),
        StaffProblem.LANGUAGE_FORMAT: _(
            "%(value)s is not a language tag: write tags such as es, en or pt-BR."
        )
        % {"value": value},
        StaffProblem.TIME_ZONE_UNKNOWN: _(
            "%(value)s is not a time zone: write an IANA time zone, such as Europe/Madrid."
        )
        % {"value": value},
        StaffProblem.CALENDAR_URL: _(
            "%(value)s is not the https address of a calendar (no user name, query or fragment)."
        )
        % {"value": value},
        StaffProblem.CONSULT_LENGTH: _("A consultation takes from 10 to 240 minutes."),
        StaffProblem.HOURS_MISSING: _(
            "A specialist needs working hours on at least one day of the week."
        ),
        StaffProblem.HOURS_FORMAT: _(
            "%(day)s: %(value)s is not a time range; write it as 09:00-13:00."
        )
        % {"day": day, "value": value},
        StaffProblem.HOURS_ORDER: _("%(day)s: %(value)s ends before it starts.")
        % {"day": day, "value": value},
        StaffProblem.HOURS_OVERLAP: _("%(day)s: %(value)s overlap; give each time once.")
        % {"day": day, "value": value},
        StaffProblem.HOURS_TOO_SHORT: _(
            "No working interval is as long as one consultation, so no time could be offered."
        ),
        StaffProblem.OWN_ROLE: _("You cannot change your own role."),
        StaffProblem.OWN_ACCOUNT: _("You cannot deactivate yourself."),
        StaffProblem.LAST_ADMIN: _(
            "This is the only active staff administrator: add another one first."
        ),
        StaffProblem.HOLDS_JOURNEYS: _(
            "%(value)s open journeys still name them in this role. Keep the role, or "
            "deactivate them to have their journeys reassigned, then add them again."
        )
        % {"value": value},
        StaffProblem.NOT_CONFIRMED: _("Tick the box to confirm the deactivation."),
    }
    return str(texts[problem.problem])


def _form_context(
    viewer: Viewer,
    values: Mapping[str, str],
    problems: Mapping[str, FieldProblem] | None = None,
) -> dict[str, Any]:
    language = viewer.language
    return {
        "values": values,
        "problems": {k: problem_text(p, language) for k, p in (problems or {}).items()},
        "roles": [role.value for role in DIRECTORY_ROLES],
        "days": list(zip(WEEKDAYS, day_names(language, "wide"), strict=True)),
        "zones": time_zones(),
    }


@router.get("/directory", response_class=HTMLResponse)
async def directory_page(request: Request, viewer: KeeperDep, pool: PoolDep) -> HTMLResponse:
    async with pool.acquire() as conn:
        members = await StaffRepository(conn).directory()
    return render(request, "directory.html", {"members": members}, viewer=viewer)


@router.get("/directory/new", response_class=HTMLResponse)
async def new_member_page(request: Request, viewer: KeeperDep) -> HTMLResponse:
    values = {"consult_minutes": str(DEFAULT_CONSULT_MINUTES), "languages": "en"}
    return render(
        request,
        "staff_member.html",
        {"member": None, **_form_context(viewer, values)},
        viewer=viewer,
    )


@router.post("/directory", response_class=HTMLResponse)
async def add_member(
    request: Request, viewer: KeeperDep, pool: PoolDep, settings: SettingsDep
) -> Response:
    values = _typed(await request.form())
    try:
        async with _directory(pool, request, viewer, settings) as directory:
            record = await directory.add(values)
    except StaffRefused as refused:
        return render(
            request,
            "staff_member.html",
            {"member": None, **_form_context(viewer, values, refused.problems)},
            status=422,
            viewer=viewer,
        )
    return RedirectResponse(f"/staff/directory/{record.staff_id}?done=added", status_code=303)


async def _member_response(
    request: Request,
    viewer: Viewer,
    pool: asyncpg.Pool,
    staff_id: str,
    *,
    values: Mapping[str, str] | None = None,
    problems: Mapping[str, FieldProblem] | None = None,
    done: str | None = None,
    status: int = 200,
) -> HTMLResponse:
    async with pool.acquire() as conn:
        record = await StaffRepository(conn).record(staff_id=staff_id)
    if record is None:
        raise ConsoleRefusal(404, "no_member", None)
    notice = await _mailer(request).notice(staff_id) if not record.active else None
    shown = values if values is not None else record.form_values()
    return render(
        request,
        "staff_member.html",
        {
            "member": record,
            "done": done if done in DONE else None,
            "deactivation": notice,
            "own": staff_id == viewer.principal.actor.id,
            **_form_context(viewer, shown, problems),
        },
        status=status,
        viewer=viewer,
    )


@router.get("/directory/{staff_id}", response_class=HTMLResponse)
async def member_page(
    request: Request, staff_id: str, viewer: KeeperDep, pool: PoolDep, done: str | None = None
) -> HTMLResponse:
    return await _member_response(request, viewer, pool, staff_id, done=done)


@router.post("/directory/{staff_id}", response_class=HTMLResponse)
async def change_member(
    request: Request, staff_id: str, viewer: KeeperDep, pool: PoolDep, settings: SettingsDep
) -> Response:
    values = _typed(await request.form())
    try:
        async with _directory(pool, request, viewer, settings) as directory:
            await directory.change(staff_id, values)
    except StaffRefused as refused:
        return await _member_response(
            request,
            viewer,
            pool,
            staff_id,
            values={**values, "staff_id": staff_id},
            problems=refused.problems,
            status=422,
        )
    return RedirectResponse(f"/staff/directory/{staff_id}?done=saved", status_code=303)


@router.post("/directory/{staff_id}/deactivate", response_class=HTMLResponse)
async def deactivate_member(
    request: Request, staff_id: str, viewer: KeeperDep, pool: PoolDep, settings: SettingsDep
) -> Response:
    form = await request.form()
    if form.get("confirm") != "yes":
        problem = FieldProblem(StaffProblem.NOT_CONFIRMED)
        return await _member_response(
            request, viewer, pool, staff_id, problems={"confirm": problem}, status=422
        )
    try:
        async with _directory(pool, request, viewer, settings) as directory:
            left = await directory.deactivate(staff_id)
    except StaffRefused as refused:
        return await _member_response(
            request, viewer, pool, staff_id, problems=refused.problems, status=422
        )
    if left is not None and left.journeys:
        await _send(request, viewer, left.deactivation_id)
    return RedirectResponse(f"/staff/directory/{staff_id}?done=deactivated", status_code=303)


@router.post("/directory/{staff_id}/reactivate", response_class=HTMLResponse)
async def reactivate_member(
    request: Request, staff_id: str, viewer: KeeperDep, pool: PoolDep, settings: SettingsDep
) -> Response:
    async with _directory(pool, request, viewer, settings) as directory:
        await directory.reactivate(staff_id)
    return RedirectResponse(f"/staff/directory/{staff_id}?done=reactivated", status_code=303)


@router.post("/directory/{staff_id}/notify", response_class=HTMLResponse)
async def notify_coordinators(
    request: Request, staff_id: str, viewer: KeeperDep, pool: PoolDep
) -> Response:
    """Send the coordinators' email of the member's latest deactivation again, if it did not
    leave."""
    notice = await _mailer(request).notice(staff_id)
    if notice is None:
        raise ConsoleRefusal(404, "no_member", None)
    await _send(request, viewer, notice.deactivation_id)
    return RedirectResponse(f"/staff/directory/{staff_id}?done=notified", status_code=303)


async def _send(request: Request, viewer: Viewer, deactivation_id: int) -> None:
    """The coordinators' email; a relay that did not take it is audited, and the member's page
    shows it as not sent."""
    sent = await _mailer(request).send(deactivation_id)
    if not sent:
        await audit_event(
            request,
            "staff.deactivation_email_failed",
            actor=viewer.principal.actor,
            detail={"deactivation": deactivation_id},
        )
