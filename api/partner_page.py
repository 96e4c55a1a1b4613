"""The page where a hotel or transfer partner confirms a request: the signed link in the request
email opens it (`partner_links.py`), and its form records the partner's reference and name.

A link names one journey and one booking, and confirms once. The page refuses, in the reader's
language and changing nothing, a link that is forged or expired, a link opened for another
journey than its own, a link used before, a booking confirmed already (through another link or
by a coordinator) and a request the journey no longer waits on (cancelled after a change of
dates, or the trip over). The confirmation is taken as every step is (`api/step_taking.py`):
stored, then sent to the journey, whose refusal removes it again.

The page shows the request's reference and dates, never the patient: guest details travel to
partners through the case manager's own channel.
"""

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import HTMLResponse
from pydantic import ValidationError
from temporalio.client import WorkflowUpdateFailedError
from temporalio.service import RPCError

from api.pages import page_language, render_page
from api.patient_page.access import PRIVATE_HEADERS
from api.patient_page.form_token import FIELD, form_token, form_token_ok
from api.problems import ProblemError, refusal_of
from api.reads.errors import Forbidden, JourneyNotFound
from api.step_access import open_step
from api.step_taking import PartnerAnswer, take
from api.tokens import Principal
from db.partner_confirmations import PartnerBooking, PartnerConfirmationRepository
from domain.actors import Actor, Role
from domain.errors import StepError
from domain.names import journey_reference
from domain.refusals import Refusal, RefusalCode
from domain.step_bodies import PartnerConfirmationBody
from domain.step_declarations import StepName
from i18n import N_, format_day, translations
from partner_links import (
    PARTNER_PAGE_PATH,
    PartnerLink,
    PartnerLinkExpired,
    PartnerLinkRefused,
    verify_partner_link,
)

router = APIRouter(tags=["pages"])

PAGE = f"{PARTNER_PAGE_PATH}/{{journey_id}}"
# Each refusal a partner can meet, by code; any other says the request is not awaited.
_NOT_AWAITED = N_(
    "This request no longer waits for a confirmation: it was cancelled or replaced. Nothing "
    "was changed."
)
REFUSALS: dict[RefusalCode, str] = {
    RefusalCode.PARTNER_LINK_USED: N_(
        "This link has been used already: the booking is confirmed. Nothing was changed."
    ),
    RefusalCode.PARTNER_LINK_OTHER_JOURNEY: N_(
        "This link belongs to another request. Please open the link in the email about this "
        "request. Nothing was changed."
    ),
    RefusalCode.PARTNER_CONFIRMED: N_("This booking is confirmed already. Nothing was changed."),
}
FIELD_MESSAGES = {
    "reference": N_("Enter your booking reference (up to 120 characters)."),
    "confirmed_by": N_("Enter your name (up to 120 characters)."),
}


@dataclass(frozen=True)
class OpenedLink:
    """A verified link for the journey in the page's path, and the booking it confirms."""

    link: PartnerLink
    token: str
    booking: PartnerBooking
    principal: Principal


@dataclass(frozen=True)
class Shown:
    """What the page says: a refusal or a confirmation at its top, the form's values and
    errors, and whether the form is offered."""

    title: str = ""
    lines: tuple[str, ...] = ()
    ok: bool = False
    form: bool = True
    status: int = 200
    values: dict[str, str] | None = None
    errors: dict[str, str] | None = None


def _refused_text(code: RefusalCode, language: str) -> str:
    return translations(language).gettext(REFUSALS.get(code, _NOT_AWAITED))


def _invalid(language: str) -> Shown:
    words = translations(language)
    return Shown(
        title=words.gettext("This link does not open a request."),
        lines=(
            words.gettext(
                "The link is not complete or not valid. Please open the link in our email, "
                "copying all of it, or reply to that email."
            ),
        ),
        form=False,
        status=401,
    )


async def _open(
    request: Request, journey_id: str, token: str | None, language: str
) -> OpenedLink | Shown:
    words = translations(language)
    invalid = _invalid(language)
    if not token:
        return invalid
    settings = request.app.state.settings
    try:
        link = verify_partner_link(settings, token)
    except PartnerLinkExpired:
        return Shown(
            title=words.gettext("This link has expired."),
            lines=(words.gettext("Please reply to our email to confirm the booking."),),
            form=False,
            status=401,
        )
    except PartnerLinkRefused:
        return invalid
    if link.journey_id != journey_id:
        return Shown(
            title=words.gettext("Not done: nothing was changed."),
            lines=(_refused_text(RefusalCode.PARTNER_LINK_OTHER_JOURNEY, language),),
            form=False,
            status=403,
        )
    async with request.app.state.pool.acquire() as conn:
        booking = await PartnerConfirmationRepository(conn).booking(
            journey_id=journey_id, booking_id=link.booking_id
        )
    if booking is None:
        return invalid
    principal = Principal(
        actor=Actor(id=f"{booking.kind.value}-partner", role=Role.PARTNER),
        name=f"{booking.kind.value} partner",
        journey_id=journey_id,
    )
    # The audit row of this request names the partner and the journey (api/audit_trail.py).
    request.state.principal = principal
    return OpenedLink(link, token, booking, principal)


def _render(
    request: Request,
    journey_id: str,
    language: str,
    opened: OpenedLink | None,
    shown: Shown,
) -> HTMLResponse:
    settings = request.app.state.settings
    booking = opened.booking if opened else None
    context: dict[str, Any] = {
        "shown": shown,
        "reference": journey_reference(journey_id),
        "kind": booking.kind.value if booking else "",
        "starts": format_day(booking.starts_at, language) if booking else "",
        "ends": format_day(booking.ends_at, language) if booking else "",
        "action": f"{PARTNER_PAGE_PATH}/{journey_id}",
        "token": opened.token if opened else "",
        "form_token": form_token(settings, link_token=opened.token, journey_id=journey_id)
        if opened
        else "",
        "form_token_field": FIELD,
        "values": shown.values or {},
        "errors": shown.errors or {},
    }
    page = render_page(
        request, "partner/confirm.html", context, language=language, status=shown.status
    )
    page.headers.update(PRIVATE_HEADERS)
    return page


async def _state_of(request: Request, opened: OpenedLink, language: str) -> Shown:
    """What the page shows before any form is sent: a link used or a booking settled
    already says so, and offers no form."""
    async with request.app.state.pool.acquire() as conn:
        repo = PartnerConfirmationRepository(conn)
        used = await repo.link_used(token_id=opened.link.token_id)
        confirmed = any(
            c.booking_id == opened.booking.booking_id
            for c in await repo.for_journey(journey_id=opened.link.journey_id)
        )
    words = translations(language)
    if used or confirmed:
        code = RefusalCode.PARTNER_LINK_USED if used else RefusalCode.PARTNER_CONFIRMED
        return Shown(
            title=words.gettext("Confirmed already"),
            lines=(_refused_text(code, language),),
            form=False,
        )
    if opened.booking.status != "active":
        return Shown(
            title=words.gettext("Cancelled"),
            lines=(_refused_text(RefusalCode.NO_PARTNER_REQUEST, language),),
            form=False,
        )
    return Shown()


async def _open_page(
    request: Request, journey_id: str, token: str | None = None, lang: str | None = None
) -> tuple[str, OpenedLink] | HTMLResponse:
    """The page's language and its link, opened; or the page saying why the link does not
    open."""
    language = page_language(request, lang)
    opened = await _open(request, journey_id, token, language)
    if isinstance(opened, Shown):
        return _render(request, journey_id, language, None, opened)
    return language, opened


OpenedPage = Annotated[tuple[str, OpenedLink] | HTMLResponse, Depends(_open_page)]


@router.get(PAGE, response_class=HTMLResponse, include_in_schema=False)
async def partner_page(request: Request, journey_id: str, page: OpenedPage) -> HTMLResponse:
    if isinstance(page, HTMLResponse):
        return page
    language, opened = page
    return _render(
        request, journey_id, language, opened, await _state_of(request, opened, language)
    )


@router.post(PAGE, response_class=HTMLResponse, include_in_schema=False)
async def partner_confirms(request: Request, journey_id: str, page: OpenedPage) -> HTMLResponse:
    if isinstance(page, HTMLResponse):
        return page
    language, opened = page

    def show(shown: Shown) -> HTMLResponse:
        return _render(request, journey_id, language, opened, shown)

    words = translations(language)
    form = await request.form()
    values = {k: v.strip() for k, v in form.items() if k in FIELD_MESSAGES and isinstance(v, str)}
    sent = form.get(FIELD)
    settings = request.app.state.settings
    if not isinstance(sent, str) or not form_token_ok(
        settings, link_token=opened.token, journey_id=journey_id, sent=sent
    ):
        expired = words.gettext(
            "This form has expired. Nothing was changed; please fill it in again below."
        )
        return show(Shown(title=expired, status=403, values=values))
    try:
        body = PartnerConfirmationBody.model_validate(values | {"booking": opened.booking.kind})
    except ValidationError as err:
        errors = {
            str(e["loc"][0]): words.gettext(FIELD_MESSAGES[str(e["loc"][0])])
            for e in err.errors()
            if e["loc"] and str(e["loc"][0]) in FIELD_MESSAGES
        }
        title = words.gettext("Not done: nothing was changed.")
        lines = (words.gettext("Please correct what is marked below."),)
        return show(Shown(title=title, lines=lines, status=422, values=values, errors=errors))
    refused = words.gettext("Not done: nothing was changed.")
    try:
        step = await open_step(
            StepName.PARTNER_CONFIRMATION,
            principal=opened.principal,
            journey_id=journey_id,
            request=request,
            response=Response(),
            language=language,
        )
        await take(
            StepName.PARTNER_CONFIRMATION,
            step,
            PartnerAnswer(body, opened.booking.booking_id, opened.link.token_id),
        )
    except (JourneyNotFound, Forbidden):
        return _render(request, journey_id, language, None, _invalid(language))
    except WorkflowUpdateFailedError as err:
        refusal = refusal_of(err)
        return show(_refusal(refusal, refused, language))
    except ProblemError as err:
        if err.status == 504:
            return show(
                Shown(
                    title=words.gettext("We have no answer yet."),
                    lines=(
                        words.gettext(
                            "Your confirmation was sent and may have been recorded. Please "
                            "open this link again in a few minutes before sending it again."
                        ),
                    ),
                    form=False,
                    status=504,
                )
            )
        return show(_refusal(err.refusal, refused, language, err.status))
    except RPCError:
        return show(
            Shown(
                title=words.gettext("We could not record your confirmation just now."),
                lines=(words.gettext("Please try again in a few minutes."),),
                status=503,
                values=values,
            )
        )
    done = words.gettext("Thank you: the booking is confirmed.")
    line = words.gettext("Your reference %(reference)s is recorded with the request.") % {
        "reference": body.reference
    }
    return show(Shown(title=done, lines=(line,), ok=True, form=False))


def _refusal(refusal: Refusal | None, title: str, language: str, status: int = 409) -> Shown:
    code = refusal.code if refusal else RefusalCode.NO_PARTNER_REQUEST
    if refusal is not None and refusal.kind is StepError.FORBIDDEN:
        status = 403
    return Shown(title=title, lines=(_refused_text(code, language),), form=False, status=status)
