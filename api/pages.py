"""The public form page and its confirmation page, plain HTML that works without JavaScript."""

import html
import uuid
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from jinja2 import Environment, PackageLoader, select_autoescape

from api.problems import FieldError
from api.tokens import TokenError
from domain.inquiry import InjuryCause, InjuryCompleteness
from patient_links import PATIENT_PAGE_PATH

templates = Jinja2Templates(
    env=Environment(loader=PackageLoader("api", "templates"), autoescape=select_autoescape())
)
router = APIRouter(tags=["pages"])

CONSENT_TEXT_VERSION = "2026-01"
LANGUAGES = [
    ("en", "English"),
    ("es", "Español"),
    ("fr", "Français"),
    ("de", "Deutsch"),
    ("pt", "Português"),
    ("it", "Italiano"),
    ("ar", "العربية"),
    ("ru", "Русский"),
]


def render_form(
    request: Request,
    *,
    values: dict[str, Any] | None = None,
    errors: list[FieldError] | None = None,
    key: str | None = None,
    status: int = 200,
) -> HTMLResponse:
    by_field: dict[str, str] = {}
    for err in errors or []:
        by_field.setdefault(err.field, err.message)
    return templates.TemplateResponse(
        request,
        "form.html",
        {
            "values": values or {},
            "errors": by_field,
            "idempotency_key": key or str(uuid.uuid4()),
            "consent_text_version": CONSENT_TEXT_VERSION,
            "languages": LANGUAGES,
            "causes": [c.value for c in InjuryCause],
            "completeness": [c.value for c in InjuryCompleteness],
        },
        status_code=status,
    )


@router.get("/", response_class=HTMLResponse, summary="The inquiry form")
async def form_page(request: Request) -> HTMLResponse:
    return render_form(request)


@router.get("/submitted/{journey_id}", response_class=HTMLResponse, summary="Confirmation page")
async def submitted_page(request: Request, journey_id: uuid.UUID) -> HTMLResponse:
    return templates.TemplateResponse(
        request, "submitted.html", {"reference": str(journey_id).split("-", 1)[0].upper()}
    )


@router.get(
    PATIENT_PAGE_PATH,
    response_class=HTMLResponse,
    summary="The patient's page",
    responses={
        401: {"description": "The link is not valid or has expired"},
        403: {"description": "Not a patient's link"},
    },
)
async def my_journey(request: Request, token: str) -> HTMLResponse:
    """The page an emailed link opens; it acts through the API with the link's token."""
    try:
        principal = request.app.state.verifier.verify(token)
    except TokenError as err:
        return HTMLResponse(f"<p>{html.escape(str(err))}</p>", status_code=401)
    if not principal.is_patient or principal.journey_id is None:
        return HTMLResponse("<p>This page is for patients' links.</p>", status_code=403)
    return templates.TemplateResponse(
        request, "my_journey.html", {"journey_id": principal.journey_id}
    )
