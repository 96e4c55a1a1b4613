"""`POST /api/v1/inquiries`: an inquiry submitted by a program, answered in JSON.

The body is the inquiry as JSON, FastAPI's typed `InquiryForm`. A program may also post the
form page's fields form-encoded: they are read as the form page reads its own post
(api/pages.py). Either way the inquiry is stored and its journey started as the form page does
it (`api.intake.accept_inquiry`).
"""

from collections.abc import Callable, Coroutine
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from fastapi.routing import APIRoute
from pydantic import ValidationError

from api.deps import PoolDep, SettingsDep, TemporalDep, get_app_settings, get_pool, get_temporal
from api.intake import FORM_TYPES, JourneyStartDeferred, accept_inquiry, idempotency_key_of
from api.pages import read_posted_form
from api.problems import ProblemError, problems
from api.query import QueryParameters
from db.intake import IdempotencyConflict, UnknownConsentText
from domain.inquiry import InquiryAccepted, InquiryForm

_PROBLEMS = problems(
    {
        409: "Idempotency-Key reused with another body",
        413: "Body too large",
        429: "Too many submissions from this client",
        415: "Neither JSON nor a form",
        422: "Invalid fields, each named in `errors`",
        503: "Temporal or PostgreSQL unreachable; retry with the same key",
    }
)
IDEMPOTENCY_KEY = "Idempotency-Key"


def _not_json() -> RequestValidationError:
    return RequestValidationError([{"loc": ("body",), "msg": "the body is not valid JSON"}])


class InquiryRoute(APIRoute):
    """The inquiry's route, with what comes before FastAPI reads its body as JSON: the
    submission counts against the form's rate limit (a refused one too), a form-encoded one is
    answered from the form page's reading of it, and any other media type is refused."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        typed = super().get_route_handler()

        async def handle(request: Request) -> Response:
            await request.app.state.form_limiter.check(
                request.client.host if request.client else None
            )
            media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
            if media_type in FORM_TYPES:
                return await _submit_form(request)
            if media_type != "application/json":
                raise ProblemError(
                    415, "Unsupported media type", "send application/json or a form-encoded body"
                )
            # Read here, so that a body over the cap is refused as too large (413) rather than
            # as one FastAPI could not parse.
            if not await request.body():
                raise _not_json()
            try:
                return await typed(request)
            except RequestValidationError as err:
                if any(e.get("type") == "json_invalid" for e in err.errors()):
                    raise _not_json() from None
                raise

        return handle


router = APIRouter(prefix="/inquiries", tags=["inquiries"], route_class=InquiryRoute)


def _idempotency_key(
    header: Annotated[
        str | None,
        Header(
            alias=IDEMPOTENCY_KEY,
            description="the same key returns the same journey and starts nothing new",
        ),
    ] = None,
) -> str | None:
    return idempotency_key_of(header, None)


@router.post(
    "",
    status_code=202,
    response_model=InquiryAccepted,
    responses=_PROBLEMS,
    summary="Submit an inquiry and start the patient's journey",
    openapi_extra={
        "requestBody": {
            "content": {
                "application/x-www-form-urlencoded": {
                    "schema": {"$ref": "#/components/schemas/InquiryForm"}
                },
            },
        }
    },
)
async def submit_inquiry(
    form: InquiryForm,
    key: Annotated[str | None, Depends(_idempotency_key)],
    request: Request,
    pool: PoolDep,
    client: TemporalDep,
    settings: SettingsDep,
) -> Response:
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
    body = InquiryAccepted(journey_id=stored.journey_id, duplicate=not stored.created)
    return Response(
        body.model_dump_json(),
        status_code=202,
        media_type="application/json",
        headers={"Location": f"/api/v1/journeys/{stored.journey_id}"},
    )


async def _submit_form(request: Request) -> Response:
    """A form-encoded inquiry: its key in the header, or in the form as the page sends it."""
    try:
        QueryParameters.model_validate(dict(request.query_params))
    except ValidationError as err:
        raise RequestValidationError(
            [{**e, "loc": ("query", *e["loc"])} for e in err.errors()]
        ) from None
    posted = await read_posted_form(request)
    key = idempotency_key_of(request.headers.get(IDEMPOTENCY_KEY), posted.key)
    try:
        form = InquiryForm.model_validate(posted.fields)
    except ValidationError as err:
        raise RequestValidationError(err.errors()) from None
    return await submit_inquiry(
        form,
        key,
        request,
        await get_pool(request),
        await get_temporal(request),
        await get_app_settings(request),
    )
