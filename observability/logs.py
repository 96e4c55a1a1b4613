"""Logs a machine can read: one JSON object per line, configured here for every process.

Each line holds `time`, `level`, `logger`, `message` and `service`, and, when known, the
journey's id, the workflow's id and run id (from the workflow or activity that logged it, or
the API request's path) and the trace id. The fields are a fixed set: nothing a caller adds to
a record with `extra` reaches the output, so no stray attribute can carry a patient's name.
An exception is written as its type and stack frames without its message, which can quote
what a person sent (a validation error echoes its input). The access log names the method,
the path without its query string (patient links carry a token there) and the status, never
the client's address.
"""

import json
import logging
import sys
import traceback
from collections.abc import MutableMapping
from contextvars import ContextVar
from datetime import UTC, datetime
from types import TracebackType
from typing import Any, TextIO

from starlette.types import ASGIApp, Receive, Scope, Send
from temporalio import activity, workflow

from domain.names import journey_id_of
from observability.tracing import current_trace_id

ACCESS_LOGGER = "uvicorn.access"
# uvicorn's own loggers write through the root's handler rather than their own.
UVICORN_LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.access")

_request_scope: ContextVar[MutableMapping[str, Any] | None] = ContextVar(
    "journeys_request_scope", default=None
)

ExcInfo = tuple[type[BaseException], BaseException, TracebackType | None]


class JsonLines(logging.Formatter):
    """Formats a record as one line of JSON with the project's fixed fields."""

    def __init__(self, service: str) -> None:
        super().__init__()
        self._service = service

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": _message(record),
            "service": self._service,
        }
        line.update(_journey_fields(record))
        trace_id = current_trace_id()
        if trace_id is not None:
            line["trace_id"] = trace_id
        if record.name == ACCESS_LOGGER and _is_access(record):
            _, method, path, _, status = record.args  # type: ignore[misc]
            line.update(http_method=method, http_path=_path(path), http_status=status)
        if record.exc_info and record.exc_info[1] is not None:
            line.update(_exception(record.exc_info))  # type: ignore[arg-type]
        return json.dumps(line, ensure_ascii=False, default=str)


def _is_access(record: logging.LogRecord) -> bool:
    # uvicorn logs each request as (client address, method, path, HTTP version, status).
    return isinstance(record.args, tuple) and len(record.args) == 5


def _path(target: object) -> str:
    return str(target).split("?", 1)[0]


def _message(record: logging.LogRecord) -> str:
    if record.name == ACCESS_LOGGER and _is_access(record):
        _, method, path, _, status = record.args  # type: ignore[misc]
        return f"{method} {_path(path)} {status}"
    return record.getMessage()


def _journey_fields(record: logging.LogRecord) -> dict[str, str]:
    """The journey, workflow and run a record belongs to, from where it was logged."""
    workflow_id = run_id = None
    details = getattr(record, "temporal_workflow", None) or getattr(
        record, "temporal_activity", None
    )
    if isinstance(details, dict):
        workflow_id, run_id = details.get("workflow_id"), details.get("run_id")
        run_id = run_id or details.get("workflow_run_id")
    elif activity.in_activity():
        info = activity.info()
        workflow_id, run_id = info.workflow_id, info.workflow_run_id
    fields: dict[str, str] = {}
    if workflow_id:
        fields["workflow_id"] = str(workflow_id)
        journey_id = journey_id_of(str(workflow_id))
        if journey_id:
            fields["journey_id"] = journey_id
    if run_id:
        fields["run_id"] = str(run_id)
    scope = _request_scope.get()
    if "journey_id" not in fields and scope is not None:
        # Set once the router has matched the request's path (it fills in this scope).
        journey_id = (scope.get("path_params") or {}).get("journey_id")
        if journey_id is not None:
            fields["journey_id"] = str(journey_id)
    return fields


def _exception(exc_info: ExcInfo) -> dict[str, Any]:
    """The exception's type, its causes' types and its stack, without any message."""
    _, err, tb = exc_info
    types: list[str] = []
    seen: BaseException | None = err
    while seen is not None and len(types) < 10:
        types.append(type(seen).__qualname__)
        seen = seen.__cause__ or seen.__context__
    stack = [f"{f.filename}:{f.lineno} in {f.name}" for f in traceback.extract_tb(tb)]
    return {"error": " <- ".join(types), "stack": stack}


class RequestScope:
    """Keeps each HTTP request's ASGI scope where the log formatter finds it, so the lines a
    request logs name the journey in its path."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        token = _request_scope.set(scope)
        try:
            await self.app(scope, receive, send)
        finally:
            _request_scope.reset(token)


def json_handler(service: str, stream: TextIO | None = None) -> logging.Handler:
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonLines(service))
    return handler


def configure_logging(service: str, *, level: str = "INFO", stream: TextIO | None = None) -> None:
    """Every record of this process as a JSON line on `stream` (stderr by default): the root
    logger's one handler, which uvicorn's loggers and Python's warnings go through too."""
    root = logging.getLogger()
    root.handlers[:] = [json_handler(service, stream)]
    root.setLevel(level)
    for name in UVICORN_LOGGERS:
        logger = logging.getLogger(name)
        logger.handlers[:] = []
        logger.propagate = True
    logging.captureWarnings(True)
    # The workflow and activity loggers would append their ids to the message; the line has
    # them as fields already.
    workflow.logger.workflow_info_on_message = False
    activity.logger.activity_info_on_message = False
