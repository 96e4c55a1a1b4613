"""`POST /api/v1/inquiries`: an inquiry submitted by a program, as JSON or form-encoded. The
form page posts to itself (api/pages.py); both store and start a journey the same way."""

from typing import Annotated, Any

from fastapi import APIRouter, Header, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from pydantic import ValidationError

from api.deps import PoolDep, SettingsDep, TemporalDep
from api.intake import (
    FORM_IDEMPOTENCY_FIELD,
    FORM_TYPES,
    LANGUAGE_FIELD,
    JourneyStartDeferred,
    accept_inquiry,
    form_fields,
    idempotency_key_of,
)
from api.pages import page_language
from api.problems import Problem, ProblemError
from db.intake import IdempotencyConflict, UnknownConsentText
from domain.inquiry import InquiryAccepted, InquiryForm

router = APIRouter(prefix="/inquiries", tags=["inquiries"])

_PROBLEMS: dict[int | str, dict[str, Any]] = {
    409: {"model": Problem, "description": "Idempotency-Key reused with another body"},
    413: {"model": Problem, "description": "Body too large"},
    429: {"model": Problem, "description": "Too many submissions from this client"},
    415: {"model": Problem, "description": "Neither JSON nor a form"},
    422: {"model": Problem, "description": "Invalid fields, each named in `errors`"},
    503: {
        "model": Problem,
        "description": "Temporal or PostgreSQL unreachable; retry with the same key",
    },
}


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
    await request.app.state.form_limiter.check(request.client.host if request.client else None)
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type in FORM_TYPES:
        raw: dict[str, Any] = dict(await request.form())
        form_key = raw.pop(FORM_IDEMPOTENCY_FIELD, None)
        shown_in = raw.pop(LANGUAGE_FIELD, None)
        data: Any = form_fields(raw)
        # The consent text was shown in the page's language, which the consent points at.
        data["consent_language"] = page_language(
            request, shown_in if isinstance(shown_in, str) else None
        )
    elif content_type == "application/json":
        try:
            data = await request.json()
        except ValueError:
            raise RequestValidationError(
                [{"loc": ("body",), "msg": "the body is not valid JSON"}]
            ) from None
        form_key = None
    else:
        raise ProblemError(
            415, "Unsupported media type", "send application/json or a form-encoded body"
        )
    key = idempotency_key_of(idempotency_key, form_key)
    try:
        form = InquiryForm.model_validate(data)
    except ValidationError as err:
        raise RequestValidationError(err.errors()) from None
    try:
        stored = await accept_inquiry(
            request, pool=pool, client=client, settings=settings, form=form, idempotency_key=key
        )
    except UnknownConsentText:
        raise RequestValidationError(
            [
                {
                    "loc": ("body", "consent_text_version"),
                    "msg": "no consent text has this version",
                    "type": "value_error",
                }
            ]
        ) from None
    except IdempotencyConflict:
        raise ProblemError(
            409,
            "Idempotency-Key reused",
            "this Idempotency-Key was used for a different submission",
        ) from None
    except JourneyStartDeferred:
        raise ProblemError(
            503,
            "Service unavailable",
            "the inquiry was stored but its journey could not be started now; "
            "send it again with the same Idempotency-Key",
            headers={"Retry-After": "5"},
        ) from None
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
