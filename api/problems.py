"""Every error as one RFC 9457 problem+json body, mapped in one place."""

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException
from temporalio.client import WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from api.audit_trail import note_refusal
from api.reads.errors import ReadRefused
from domain.errors import StepError
from domain.refusals import Refusal, RefusalCode, RefusalParams, refusal_from_details
from privacy.refusals import PrivacyRefused, RefusalKind

PROBLEM_JSON = "application/problem+json"


class FieldError(BaseModel):
    field: str = Field(description="dotted path of the offending field, such as `email`")
    message: str
    code: RefusalCode | None = Field(
        default=None,
        description="why the field was refused, where a refusal's code says it (a score off "
        "its scale), for the client to word in its reader's language",
    )
    params: RefusalParams | None = Field(default=None, description="what the `code` names")


class Problem(BaseModel):
    """RFC 9457 problem details; a step the journey refused adds its `code` and `params`."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str | None = None
    instance: str | None = None
    errors: list[FieldError] | None = None
    code: RefusalCode | None = Field(
        default=None,
        description="why a step was refused, for the client to word in its reader's language "
        "(`detail` says it in English); present on every refusal of a journey's step",
    )
    params: RefusalParams | None = Field(
        default=None,
        description="what the refusal's `code` names: a step, stages, roles, numbers, dates",
    )


Responses = dict[int | str, dict[str, Any]]


def problems(descriptions: dict[int, str]) -> Responses:
    """A route's documented refusals (its OpenAPI `responses`), each answered with a problem
    body, from what each status means there."""
    return {
        status: {"model": Problem, "description": text} for status, text in descriptions.items()
    }


class ProblemError(Exception):
    """Raise to answer with a problem; `headers` carries e.g. Retry-After."""

    def __init__(
        self,
        status: int,
        title: str,
        detail: str | None = None,
        *,
        type_: str = "about:blank",
        headers: dict[str, str] | None = None,
        refusal: Refusal | None = None,
    ) -> None:
        super().__init__(detail or title)
        self.status, self.title, self.detail, self.type_ = status, title, detail, type_
        self.headers = headers
        self.refusal = refusal


def problem_response(
    request: Request, problem: Problem, headers: dict[str, str] | None = None
) -> JSONResponse:
    problem.instance = problem.instance or request.url.path
    return JSONResponse(
        problem.model_dump(mode="json", exclude_none=True),
        status_code=problem.status,
        media_type=PROBLEM_JSON,
        headers=headers,
    )


def field_errors(errors: Any) -> list[FieldError]:
    """Pydantic's error list as field paths a person can read (without the `body` prefix)."""
    out = []
    for err in errors:
        loc = [str(p) for p in err.get("loc", ()) if p not in ("body", "query", "header")]
        message = str(err.get("msg", "invalid"))
        message = message.removeprefix("Value error, ")
        kind = str(err.get("type", ""))
        refusal = (
            Refusal.of(RefusalCode(kind), **(err.get("ctx") or {}))
            if kind in RefusalCode._value2member_map_
            else None
        )
        out.append(
            FieldError(
                field=".".join(loc) or "body",
                message=message,
                code=refusal.code if refusal else None,
                params=refusal.params if refusal else None,
            )
        )
    return out


def refusal_of(err: WorkflowUpdateFailedError) -> Refusal | None:
    """The coded refusal of a journey's validator; None for a failure that carries none."""
    cause = err.cause
    return refusal_from_details(cause.details) if isinstance(cause, ApplicationError) else None


def validation_problem(errors: Any) -> Problem:
    details = field_errors(errors)
    fields = ", ".join(dict.fromkeys(e.field for e in details))
    return Problem(
        type="/problems/validation-error",
        title="The request has invalid fields",
        status=422,
        detail=f"invalid: {fields}",
        errors=details,
    )


# How each refusal of a workflow validator reads over HTTP.
_STEP_STATUS: dict[str, tuple[int, str]] = {
    StepError.REFUSED: (409, "The journey refused this step"),
    StepError.INVALID: (422, "The step's data cannot apply"),
    StepError.FORBIDDEN: (403, "Forbidden"),
}

_PRIVACY_STATUS: dict[RefusalKind, tuple[int, str]] = {
    RefusalKind.NOT_FOUND: (404, "Not found"),
    RefusalKind.CONFLICT: (409, "Conflict"),
    RefusalKind.NOT_ANSWERING: (504, "Still under way"),
}

_TITLES = {
    400: "Bad request",
    401: "Authentication required",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    413: "Request body too large",
    415: "Unsupported media type",
    429: "Too many requests",
    503: "Service unavailable",
}


def step_refusal(exc: WorkflowUpdateFailedError) -> Problem:
    """A journey validator's refusal of a step, as the API answers it."""
    cause = exc.cause
    kind = getattr(cause, "type", None)
    message = getattr(cause, "message", None) or str(cause)
    status, title = _STEP_STATUS.get(kind or "", (409, "The journey refused this step"))
    refusal = refusal_of(exc)
    return Problem(
        type=f"/problems/{(kind or 'step-refused').lower()}",
        title=title,
        status=status,
        detail=message,
        code=refusal.code if refusal else None,
        params=refusal.params if refusal else None,
    )


def install_problem_handlers(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        return problem_response(request, validation_problem(exc.errors()))

    @app.exception_handler(ProblemError)
    async def _problem(request: Request, exc: ProblemError) -> JSONResponse:
        refusal = exc.refusal
        return problem_response(
            request,
            Problem(
                type=exc.type_,
                title=exc.title,
                status=exc.status,
                detail=exc.detail,
                code=refusal.code if refusal else None,
                params=refusal.params if refusal else None,
            ),
            exc.headers,
        )

    @app.exception_handler(ReadRefused)
    async def _read_refused(request: Request, exc: ReadRefused) -> JSONResponse:
        note_refusal(request, exc.reason)
        return problem_response(
            request, Problem(title=exc.title, status=exc.status, detail=exc.detail)
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code == 400:
            # The framework's answer to a body it cannot parse (not JSON, broken multipart):
            # the same 422 as every bad field, so clients handle one kind of refusal.
            message = (
                "the body is not valid JSON"
                if exc.detail == "There was an error parsing the body"
                else str(exc.detail).rstrip(".")
            )
            return problem_response(
                request, validation_problem([{"loc": ("body",), "msg": message}])
            )
        title = _TITLES.get(exc.status_code, "Error")
        detail = exc.detail if isinstance(exc.detail, str) and exc.detail != title else None
        return problem_response(
            request,
            Problem(title=title, status=exc.status_code, detail=detail),
            getattr(exc, "headers", None),
        )

    @app.exception_handler(WorkflowUpdateFailedError)
    async def _refused(request: Request, exc: WorkflowUpdateFailedError) -> JSONResponse:
        return problem_response(request, step_refusal(exc))

    @app.exception_handler(PrivacyRefused)
    async def _privacy(request: Request, exc: PrivacyRefused) -> JSONResponse:
        status, title = _PRIVACY_STATUS[exc.kind]
        return problem_response(request, Problem(title=title, status=status, detail=exc.detail))

    @app.exception_handler(RPCError)
    async def _rpc(request: Request, exc: RPCError) -> JSONResponse:
        if exc.status == RPCStatusCode.NOT_FOUND:
            return problem_response(
                request, Problem(title="Not found", status=404, detail="no such journey")
            )
        return problem_response(
            request,
            Problem(
                title="Service unavailable",
                status=503,
                detail="the workflow service did not answer: read the journey's status, "
                "then try again",
            ),
            {"Retry-After": "5"},
        )

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        # No stack trace or exception text leaves the server: it may hold personal data.
        return problem_response(
            request,
            Problem(title="Internal error", status=500, detail="the error was logged"),
        )
