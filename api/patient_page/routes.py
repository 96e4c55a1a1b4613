"""The patient's page, `/my-journey?token=…`, and the forms it posts.

Every form is a plain HTML form that posts to `/my-journey/<step>?token=…`: the route checks
the link and the form token, takes the step through the same code as the JSON API
(`api/step_taking.py`), and answers with the page again, showing the confirmation or the
refusal at its top. A little script on the page checks files before they are sent and shows
an upload's progress; without it every form still works.
"""

import dataclasses
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse
from pydantic import ValidationError
from starlette.datastructures import FormData
from temporalio.client import WorkflowUpdateFailedError
from temporalio.service import RPCError

from api.journey_access import follow_up_status, journey_handle
from api.pages import languages_offered, render_page
from api.patient_page import forms
from api.patient_page.access import (
    PRIVATE_HEADERS,
    OpenLink,
    RefusedLink,
    open_link,
    refused_link_page,
)
from api.patient_page.form_token import FIELD, form_token, form_token_ok
from api.patient_page.forms import FormAnswer, Submitted
from api.patient_page.outcomes import (
    journey_refusal,
    problem_refusal,
    refused,
    unavailable,
)
from api.patient_page.view import (
    PageRecords,
    Words,
    active,
    booking_line,
    follow_up_bookings,
    page_context,
)
from api.problems import ProblemError
from api.step_access import open_step
from api.uploads import ALLOWED_EXTENSIONS, UploadRefused
from db.erasure import Erased
from db.patient_page import PatientPageRepository
from domain.stages import Stage
from domain.step_declarations import StepName
from patient_links import PATIENT_PAGE_PATH
from privacy.consent import withdraw_consent
from privacy.refusals import PrivacyRefused
from workflows.journey import PatientJourney

router = APIRouter(tags=["pages"])

PAGE = PATIENT_PAGE_PATH
LINK_REFUSED: dict[int | str, dict[str, Any]] = {
    401: {"description": "The link is not valid, has expired or was replaced"}
}


Action = Callable[[Submitted], Awaitable[FormAnswer]]


@router.get(PAGE, response_class=HTMLResponse, summary="The patient's page", responses=LINK_REFUSED)
async def my_journey(
    request: Request,
    token: str | None = None,
    lang: str | None = None,
    confirm: str | None = None,
) -> HTMLResponse:
    """The page an emailed link opens: the journey in plain words and the step it asks for.
    `confirm=withdraw` shows what a withdrawal would cancel, and asks to confirm it."""
    link = await open_link(request, token, lang)
    if isinstance(link, RefusedLink):
        return refused_link_page(request, link)
    return await render_journey(request, link, confirming=confirm == "withdraw")


async def load_records(request: Request, link: OpenLink, stage: Stage) -> PageRecords:
    jid = link.journey_id
    async with request.app.state.pool.acquire() as conn:
        repo = PatientPageRepository(conn)
        records = PageRecords(
            patient=link.patient,
            plan=await repo.plan(jid) if stage is Stage.PLAN else None,
            documents=await repo.documents(jid) if stage is Stage.VALIDATION else [],
            travel=await repo.travel(jid) if stage is Stage.TRAVEL else None,
            checkins=await repo.checkins(jid) if stage is Stage.FOLLOW_UP else [],
        )
    if stage is not Stage.FOLLOW_UP:
        return records
    try:
        follow_up = await follow_up_status(request.app.state.temporal, jid)
    except RPCError:
        follow_up = None  # not answering just now: the page shows the journey without it
    return dataclasses.replace(records, follow_up=follow_up)


async def render_journey(
    request: Request,
    link: OpenLink,
    answer: FormAnswer | None = None,
    *,
    confirming: bool = False,
) -> HTMLResponse:
    settings = request.app.state.settings
    words = Words(link.language, link.patient.time_zone, settings.clinic_time_zone)
    try:
        status = await journey_handle(request.app.state.temporal, link.journey_id).query(
            PatientJourney.status
        )
    except RPCError as err:
        outcome = answer.outcome if answer else unavailable(err, link.language)
        page = render_page(
            request,
            "patient/unavailable.html",
            {"outcome": outcome, "token": link.token},
            language=link.language,
            status=503,
        )
        page.headers.update(PRIVATE_HEADERS)
        return page
    records = await load_records(request, link, status.stage)
    context = page_context(words, status, records)
    context.update(
        token=link.token,
        form_token=form_token(settings, link_token=link.token, journey_id=link.journey_id),
        form_token_field=FIELD,
        languages=languages_offered(),
        confirming=confirming and context["can_withdraw"],
        journey_id=link.journey_id,
        outcome=answer.outcome if answer else None,
        errors=answer.errors if answer else {},
        values=answer.values if answer else {},
        max_upload=words.size(settings.max_upload_bytes),
        max_upload_bytes=settings.max_upload_bytes,
        extensions=",".join(ALLOWED_EXTENSIONS),
    )
    page = render_page(
        request,
        "patient/journey.html",
        context,
        language=link.language,
        status=answer.outcome.status if answer else 200,
    )
    page.headers.update(PRIVATE_HEADERS)
    return page


async def checked_form(request: Request) -> tuple[OpenLink, FormData] | HTMLResponse:
    """The link and the form of a POST, or the page refusing them: a link the page would not
    open, or a form whose token is not this link's."""
    params = request.query_params
    link = await open_link(request, params.get("token"), params.get("lang"))
    if isinstance(link, RefusedLink):
        return refused_link_page(request, link)
    form = await request.form(max_files=forms.MAX_FILES_PER_FORM)
    sent = form.get(FIELD)
    settings = request.app.state.settings
    if isinstance(sent, str) and form_token_ok(
        settings, link_token=link.token, journey_id=link.journey_id, sent=sent
    ):
        return link, form
    words = Words(link.language, link.patient.time_zone)
    expired = words.gettext(
        "This form has expired. Nothing was changed; please fill it in again below."
    )
    return await render_journey(
        request, link, FormAnswer(refused(link.language, [expired], status=403))
    )


async def take(request: Request, step_name: StepName, action: Action) -> HTMLResponse:
    """Check the link and the form token, take the step, and answer with the page."""
    checked = await checked_form(request)
    if isinstance(checked, HTMLResponse):
        return checked
    link, form = checked
    words = Words(link.language, link.patient.time_zone)
    step = await open_step(
        step_name,
        principal=link.principal,
        journey_id=link.journey_id,
        request=request,
        response=Response(),
        language=link.language,
    )
    try:
        answer = await action(forms.Submitted(step, form, words))
    except WorkflowUpdateFailedError as err:
        answer = FormAnswer(
            journey_refusal(err, link.language, words.tz), values=forms.values_of(form)
        )
    except UploadRefused as err:
        outcome = problem_refusal(
            err, link.language, file=err.filename, limit=words.size(step.upload_bytes)
        )
        answer = FormAnswer(outcome)
    except ProblemError as err:
        answer = FormAnswer(problem_refusal(err, link.language), values=forms.values_of(form))
    except RPCError as err:
        answer = FormAnswer(unavailable(err, link.language))
    except ValidationError as err:
        answer = forms.invalid(err, form, words)
    return await render_journey(request, link, answer)


# The forms whose step is taken as the form reads it: the path each posts to (after the page's
# own), its step, and its reading.
FORMS: dict[str, tuple[StepName, Action]] = {
    "documents": (StepName.DOCUMENTS, forms.upload_documents),
    "booking": (StepName.BOOK_CONSULT, forms.book_consult),
    "reschedule": (StepName.RESCHEDULE_CONSULT, forms.reschedule_consult),
    "follow-up-booking": (StepName.BOOK_FOLLOW_UP, forms.book_follow_up),
    "follow-up-reschedule": (StepName.RESCHEDULE_FOLLOW_UP, forms.reschedule_follow_up),
    "plan": (StepName.PLAN_DECISION, forms.decide_plan),
    "travel": (StepName.TRAVEL, forms.send_travel),
    "travel-change": (StepName.CHANGE_TRAVEL, forms.change_travel),
    "check-in": (StepName.REHAB_CHECKIN, forms.check_in),
}


def _form_route(path: str, step_name: StepName, action: Action) -> None:
    async def post(request: Request) -> HTMLResponse:
        return await take(request, step_name, action)

    router.add_api_route(
        f"{PAGE}/{path}",
        post,
        methods=["POST"],
        name=f"post_{path.replace('-', '_')}",
        response_class=HTMLResponse,
        include_in_schema=False,
    )


for _path, (_step_name, _action) in FORMS.items():
    _form_route(_path, _step_name, _action)


@router.post(f"{PAGE}/withdrawal", response_class=HTMLResponse, include_in_schema=False)
async def post_withdrawal(request: Request) -> HTMLResponse:
    async def withdraw(sent: forms.Submitted) -> FormAnswer:
        # What is booked now is what the withdrawal cancels; the answer lists it.
        status = await sent.step.handle.query(PatientJourney.status)
        cancels = [booking_line(sent.words, b) for b in active(status)]
        if status.stage is Stage.FOLLOW_UP:
            year = await follow_up_status(sent.step.client, sent.step.journey_id)
            cancels += follow_up_bookings(sent.words, year)
        return await forms.withdraw(sent, cancels)

    return await take(request, StepName.WITHDRAW, withdraw)


@router.post(f"{PAGE}/language", response_class=HTMLResponse, include_in_schema=False)
async def post_language(request: Request) -> HTMLResponse:
    """The patient's preferred language: the page and every later email speak it."""
    checked = await checked_form(request)
    if isinstance(checked, HTMLResponse):
        return checked
    link, form = checked
    try:
        chosen, answer = await forms.change_language(request, link, form)
    except Erased:
        # Erased since the link was checked, a moment ago: nothing was written.
        return refused_link_page(request, RefusedLink("erased", link.language))
    return await render_journey(request, dataclasses.replace(link, language=chosen), answer)


@router.post(f"{PAGE}/consent", response_class=HTMLResponse, include_in_schema=False)
async def post_consent(request: Request) -> HTMLResponse:
    """The patient withdraws their consent to the processing of their health data: the
    journey ends as for any withdrawal, and the records may then be erased."""

    async def withdraw(sent: forms.Submitted) -> FormAnswer:
        words = sent.words
        if forms.text(sent.form, "confirm") != "yes":
            outcome = refused(
                words.language,
                [words.gettext("Please confirm that you withdraw your consent.")],
                status=422,
            )
            return FormAnswer(outcome)
        step = sent.step
        try:
            await withdraw_consent(
                step.pool,
                step.client,
                step.journey_id,
                actor=step.principal.actor,
                within=step.answer_within,
            )
        except PrivacyRefused as err:
            return FormAnswer(refused(words.language, [err.detail], status=409))
        return forms.done(
            words.gettext("Your consent is withdrawn and your journey is closed."),
            words.gettext(
                "We no longer process your health data. You may ask us to erase it by "
                "replying to any of our emails."
            ),
        )

    return await take(request, StepName.WITHDRAW_CONSENT, withdraw)
