"""Every API request leaves a row in the tamper-evident audit log: who, what, which journey,
when, from where. Reads count too: an auditor of health data asks who looked, not only who
changed."""

import logging
import uuid
from collections.abc import Awaitable, Callable

from fastapi import FastAPI, Request, Response

from api.tokens import Principal
from audit.log import AuditLog

log = logging.getLogger(__name__)
AUDITED_PREFIX = "/api/v1/"


def install_audit_trail(app: FastAPI) -> None:
    @app.middleware("http")
    async def audit_trail(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        response = await call_next(request)
        if not request.url.path.startswith(AUDITED_PREFIX):
            return response
        principal: Principal | None = getattr(request.state, "principal", None)
        params = request.scope.get("path_params") or {}
        journey_id = params.get("journey_id")
        try:
            async with request.app.state.pool.acquire() as conn:
                await AuditLog(conn, request.app.state.audit_key).append(
                    actor_id=principal.actor.id if principal else "anonymous",
                    actor_role=principal.actor.role.value if principal else "public",
                    action=f"{request.method} {_template(request.url.path, params)}",
                    journey_id=str(journey_id) if _is_uuid(journey_id) else None,
                    patient_id=principal.actor.id if principal and principal.is_patient else None,
                    source=request.client.host if request.client else None,
                    detail={"status": response.status_code},
                )
        except Exception:
            # The request has already done its work; a missing audit row must be loud.
            log.exception("could not append to the audit log for %s", request.url.path)
        return response


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
