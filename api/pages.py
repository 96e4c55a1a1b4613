"""The public form page and its confirmation page, plain HTML that works without JavaScript.

Every page is written in its reader's language, with the same catalogues as the emails
(`i18n/`): `?lang=` when it names a language we have, else the browser's `Accept-Language`,
else English. The form carries its language in a hidden field, so the form shown again with its
errors and the confirmation page after it stay in that language.
"""

import functools
import logging
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import PackageLoader, select_autoescape
from pydantic import ValidationError

from api.deps import PoolDep, SettingsDep, TemporalDep
from api.intake import (
    FORM_IDEMPOTENCY_FIELD,
    LANGUAGE_FIELD,
    JourneyStartDeferred,
    accept_inquiry,
    form_fields,
    idempotency_key_of,
)
from api.problems import FieldError, field_errors
from db.intake import IdempotencyConflict, UnknownConsentText
from domain.inquiry import InjuryCause, InjuryCompleteness, InquiryForm
from i18n import (
    SOURCE_LANGUAGE,
    LocalizedEnvironments,
    language_name,
    negotiate,
    supported_languages,
)

log = logging.getLogger(__name__)
router = APIRouter(tags=["pages"])

CONSENT_TEXT_VERSION = "2026-01"


@functools.cache
def page_environments() -> LocalizedEnvironments:
    """The pages' templates, one Jinja environment per language, built on first use."""
    return LocalizedEnvironments(PackageLoader("api", "templates"), autoescape=select_autoescape())


def page_language(request: Request, wanted: str | None = None) -> str:
    """The language to write a page in: `wanted` if we have it, else the browser's choice."""
    return negotiate(wanted) or negotiate(request.headers.get("accept-language")) or SOURCE_LANGUAGE


def render_page(
    request: Request, name: str, context: dict[str, Any], *, language: str, status: int = 200
) -> HTMLResponse:
    template = page_environments()(language).get_template(name)
    return HTMLResponse(template.render(request=request, **context), status_code=status)


def languages_offered() -> list[tuple[str, str]]:
    """The preferred languages the form offers: those the patient's emails and pages exist
    in, each named in itself, so a patient is never promised a language we do not write."""
    return [(code, language_name(code)) for code in supported_languages()]


def render_form(
    request: Request,
    *,
    values: dict[str, Any] | None = None,
    errors: list[FieldError] | None = None,
    key: str | None = None,
    status: int = 200,
    language: str | None = None,
) -> HTMLResponse:
    by_field: dict[str, str] = {}
    for err in errors or []:
        by_field.setdefault(err.field, err.message)
    return render_page(
        request,
        "form.html",
        {
            "values": values or {},
            "errors": by_field,
            "idempotency_key": key or str(uuid.uuid4()),
            "consent_text_version": CONSENT_TEXT_VERSION,
            "languages": languages_offered(),
            "causes": [c.value for c in InjuryCause],
            "completeness": [c.value for c in InjuryCompleteness],
        },
        language=page_language(request, language),
        status=status,
    )


@router.get("/", response_class=HTMLResponse, summary="The inquiry form")
async def form_page(request: Request, lang: str | None = None) -> HTMLResponse:
    return render_form(request, language=lang)


@dataclass(frozen=True)
class PostedForm:
    """The form as posted: the inquiry's fields as `InquiryForm` reads them, the key the form
    carries, and the language it was shown in."""

    fields: dict[str, Any]
    key: Any
    language: str | None


async def read_posted_form(request: Request) -> PostedForm:
    """The form page's post, form-encoded; a program may post the same to the API."""
    raw: dict[str, Any] = dict(await request.form())
    key = raw.pop(FORM_IDEMPOTENCY_FIELD, None)
    shown_in = raw.pop(LANGUAGE_FIELD, None)
    language = shown_in if isinstance(shown_in, str) else None
    fields = form_fields(raw)
    # The consent text was shown in the page's language, which the consent points at.
    fields["consent_language"] = page_language(request, language)
    return PostedForm(fields, key, language)


@router.post("/", response_class=HTMLResponse, include_in_schema=False)
async def form_sent(
    request: Request, pool: PoolDep, client: TemporalDep, settings: SettingsDep
) -> Response:
    """The form posts to itself: a refused field shows the form again, in its language, with
    what was typed and each refusal beside its field; an accepted one goes to the
    confirmation page. The inquiry is stored and its journey started as the API does it."""
    await request.app.state.form_limiter.check(request.client.host if request.client else None)
    posted = await read_posted_form(request)
    key = idempotency_key_of(None, posted.key)
    data, language = posted.fields, posted.language
    try:
        form = InquiryForm.model_validate(data)
    except ValidationError as err:
        return render_form(
            request,
            values=data,
            errors=field_errors(err.errors()),
            key=key,
            status=422,
            language=language,
        )
    try:
        stored = await accept_inquiry(
            request, pool=pool, client=client, settings=settings, form=form, idempotency_key=key
        )
    except UnknownConsentText:
        # The consent text shown is no longer on record (an old page): show today's form.
        return render_form(request, values=data, status=409, language=language)
    except IdempotencyConflict:
        # The same form sent again after being changed: a new form, with what was typed.
        return render_form(request, values=data, status=409, language=language)
    except JourneyStartDeferred as deferred:
        # Stored, and the API's sweep starts its journey: the patient has nothing more to do.
        log.warning("journey %s: start deferred until Temporal answers", deferred.stored.journey_id)
        stored = deferred.stored
    query = urlencode({"lang": page_language(request, language)})
    return RedirectResponse(f"/submitted/{stored.journey_id}?{query}", status_code=303)


@router.get("/submitted/{journey_id}", response_class=HTMLResponse, summary="Confirmation page")
async def submitted_page(
    request: Request, journey_id: uuid.UUID, lang: str | None = None
) -> HTMLResponse:
    return render_page(
        request,
        "submitted.html",
        {"reference": str(journey_id).split("-", 1)[0].upper()},
        language=page_language(request, lang),
    )
