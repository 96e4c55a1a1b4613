"""`POST /api/v1/inquiries`: the web form's submission, as JSON or form-encoded."""

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Header, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError
from temporalio.service import RPCError

from api.deps import PoolDep, SettingsDep, TemporalDep
from api.intake import accept_inquiry
from api.pages import LANGUAGE_FIELD, page_language, render_form
from api.problems import Problem, ProblemError, field_errors
from db.intake import IdempotencyConflict
from domain.inquiry import InquiryAccepted, InquiryForm

router = APIRouter(prefix="/inquiries", tags=["inquiries"])

FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
# Browsers cannot set headers on a plain form post, so the form page carries the key itself.
FORM_IDEMPOTENCY_FIELD = "idempotency_key"
MAX_KEY_LENGTH = 200

_PROBLEMS: dict[int | str, dict[str, Any]] = {
    409: {"model": Problem, "description": "Idempotency-Key reused with another body"},
    413: {"model": Problem, "description": "Body too large"},
    429: {"model": Problem, "description": "Too many submissions from this client"},
    415: {"model": Problem, "description": "Neither JSON nor a form"},
    422: {"model": Problem, "description": "Invalid fields, each named in `errors`"},
    503: {"model": Problem, "description": "Temporal unreachable; retry with the same key"},
}


def _form_data(raw: dict[str, Any]) -> dict[str, Any]:
    data = {
        k: v for k, v in raw.items() if not (isinstance(v, str) and v == "" and k == "time_zone")
    }
    # An unticked checkbox sends nothing; that is a refusal, not a missing field.
    consent = data.get("consent_health_data")
    data["consent_health_data"] = consent in ("on", "true", "1", "yes")
    return data


def _idempotency_key(header: str | None, form_value: Any) -> str | None:
    key = header if header is not None else form_value
    if key is None:
        return None
    key = str(key).strip()
    if not key or len(key) > MAX_KEY_LENGTH or not key.isprintable():
        raise RequestValidationError(
            [{"loc": ("header", "Idempotency-Key"), "msg": "must be 1 to 200 printable characters"}]
        )
    return key


@router.post(
    "",
    status_code=202,
    response_model=InquiryAccepted,
    responses=_PROBLEMS,
    summary="Submit an inquiry and start the patient's journey",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": {"$ref": "#/components/schemas/InquiryForm"}},
                "application/x-www-form-urlencoded": {
                    "schema": {"$ref": "#/components/schemas/InquiryForm"}
                },
            },
        }
    },
)
async def submit_inquiry(
    request: Request,
    pool: PoolDep,
    client: TemporalDep,
    settings: SettingsDep,
    idempotency_key: Annotated[
        str | None,
        Header(
            alias="Idempotency-Key",
            description="the same key returns the same journey and starts nothing new",
        ),
    ] = None,
) -> Response:
    request.app.state.form_limiter.check(request.client.host if request.client else "unknown")
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    is_form = content_type in FORM_TYPES
    wants_html = is_form and "text/html" in request.headers.get("accept", "")
    if is_form:
        raw: dict[str, Any] = dict(await request.form())
        form_key = raw.pop(FORM_IDEMPOTENCY_FIELD, None)
        shown_in = raw.pop(LANGUAGE_FIELD, None)
        form_language = shown_in if isinstance(shown_in, str) else None
        data: Any = _form_data(raw)
    elif content_type == "application/json":
        try:
            data = await request.json()
        except ValueError:
            raise RequestValidationError(
                [{"loc": ("body",), "msg": "the body is not valid JSON"}]
            ) from None
        form_key = form_language = None
    else:
        raise ProblemError(
            415, "Unsupported media type", "send application/json or a form-encoded body"
        )
    key = _idempotency_key(idempotency_key, form_key)
    try:
        form = InquiryForm.model_validate(data)
    except ValidationError as err:
        if wants_html:
            return render_form(
                request,
                values=data,
                errors=field_errors(err.errors()),
                key=key,
                status=422,
                language=form_language,
            )
        raise RequestValidationError(err.errors()) from None
    try:
        stored = await accept_inquiry(
            pool=pool,
            client=client,
            form=form,
            idempotency_key=key,
            task_queue=settings.task_queue,
            source_address=request.client.host if request.client else None,
            user_agent=request.headers.get("user-agent"),
            console_base_url=settings.public_base_url,
        )
    except IdempotencyConflict:
        raise ProblemError(
            409,
            "Idempotency-Key reused",
            "this Idempotency-Key was used for a different submission",
        ) from None
    except RPCError:
        raise ProblemError(
            503,
            "Service unavailable",
            "the inquiry was stored but its journey could not be started now; "
            "send it again with the same Idempotency-Key",
            headers={"Retry-After": "5"},
        ) from None
    if wants_html:
        location = f"/submitted/{stored.journey_id}"
        if form_language:
            # The confirmation page in the language the form was shown in.
            location += "?" + urlencode({"lang": page_language(request, form_language)})
        return RedirectResponse(location, status_code=303)
    body = InquiryAccepted(
        journey_id=stored.journey_id,
        duplicate=not stored.created,
    )
    return Response(
        body.model_dump_json(),
        status_code=202,
        media_type="application/json",
        headers={"Location": f"/api/v1/journeys/{stored.journey_id}"},
    )
