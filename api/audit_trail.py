"""Every API request leaves a row in the tamper-evident audit log: who, what, which journey,
when, from where. Reads count too: an auditor of health data asks who looked, not only who
changed."""

import logging
import uuid
from typing import Any

from fastapi import FastAPI
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.tokens import Principal

log = logging.getLogger(__name__)
# The staff console's pages and the patient's page show what the API shows, so they are
# audited alike: opening the patient's page is a read of the journey by its patient.
AUDITED_PREFIXES = ("/api/v1/", "/staff/", "/my-journey")


def install_audit_trail(app: FastAPI) -> None:
    app.add_middleware(AuditTrailMiddleware)


class AuditTrailMiddleware:
    """Appends the request's row when its answer starts, before the client sees a byte.

    A plain ASGI middleware rather than `@app.middleware("http")`: that one runs every
    request through an extra task and stream. Rows go through the app's `AuditWriter`, which
    commits the rows of concurrent requests together.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope.get("path", "").startswith(AUDITED_PREFIXES):
            await self.app(scope, receive, send)
            return
        recorded = False

        async def audited_send(message: Message) -> None:
            nonlocal recorded
            if message["type"] == "http.response.start" and not recorded:
                recorded = True
                await _record(scope, message["status"])
            await send(message)

        try:
            await self.app(scope, receive, audited_send)
        except Exception:
            if not recorded:
                recorded = True
                await _record(scope, 500)
            raise


async def _record(scope: Scope, status: int) -> None:
    state: dict[str, Any] = scope.get("state") or {}
    principal: Principal | None = state.get("principal")
    params: dict[str, Any] = scope.get("path_params") or {}
    journey_id = params.get("journey_id")
    if journey_id is None and principal is not None and principal.is_patient:
        # The patient's page names no journey in its path: the link does.
        journey_id = principal.journey_id
    client = scope.get("client")
    try:
        await scope["app"].state.audit.append(
            actor_id=principal.actor.id if principal else "anonymous",
            actor_role=principal.actor.role.value if principal else "public",
            action=f"{scope['method']} {_template(scope['path'], params)}",
            journey_id=str(journey_id) if _is_uuid(journey_id) else None,
            patient_id=principal.actor.id if principal and principal.is_patient else None,
            source=client[0] if client else None,
            detail={"status": status},
        )
    except Exception:
        # The request has already done its work; a missing audit row must be loud.
        log.exception("could not append to the audit log for %s", scope["path"])


def _template(path: str, params: dict[str, object]) -> str:
    """The path with its parameters named, so rows of one action read alike."""
    for name, value in params.items():
        path = path.replace(f"/{value}", f"/{{{name}}}", 1)
    return path


def _is_uuid(value: object) -> bool:
    try:
        uuid.UUID(str(value))
    except ValueError:
        return False
    return value is not None
