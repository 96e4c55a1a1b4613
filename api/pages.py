"""The public form page and its confirmation page, plain HTML that works without JavaScript.

Every page is written in its reader's language, with the same catalogues as the emails
(`i18n/`): `?lang=` when it names a language we have, else the browser's `Accept-Language`,
else English. The form carries its language in a hidden field, so the form shown again with its
errors and the confirmation page after it stay in that language.
"""

import functools
import uuid
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from jinja2 import PackageLoader, select_autoescape

from api.problems import FieldError
from domain.inquiry import InjuryCause, InjuryCompleteness
from i18n import (
    SOURCE_LANGUAGE,
    LocalizedEnvironments,
    language_name,
    negotiate,
    supported_languages,
)

router = APIRouter(tags=["pages"])

CONSENT_TEXT_VERSION = "2026-01"
# The form's hidden field naming the language it was shown in.
LANGUAGE_FIELD = "lang"


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
