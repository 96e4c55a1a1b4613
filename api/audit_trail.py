"""Every API request leaves a row in the tamper-evident audit log: who, what, which journey,
when, from where (a keyed tag of the address, `audit.log.address_tag`). Reads count too: an
auditor of health data asks who looked, not only who changed.

Fail closed: an answer whose row could not be written is not sent. The row is written when
the answer starts, before a byte of it has left, so the middleware can still answer 503 in
its place (HIPAA 164.312(b): no access to health data without its record).
"""

import json
import logging
import uuid
from typing import Any

from fastapi import FastAPI, Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.tokens import Principal

log = logging.getLogger(__name__)
# The staff console's pages and the patient's page show what the API shows, so they are
# audited alike: opening the patient's page is a read of the journey by its patient, and a
# partner's confirmation page a read (and a step) of the journey by its partner.
AUDITED_PREFIXES = ("/api/v1/", "/staff/", "/my-journey", "/partner-confirmations/")


def install_audit_trail(app: FastAPI) -> None:
    app.add_middleware(AuditTrailMiddleware)


def note_refusal(request: Request, reason: str) -> None:
    """Have the request's row say why it was refused: a code (`role`, `another_journey`,
    `not_assigned`, `no_journey`), beside who asked and which journey."""
    request.state.refusal = reason


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
        recorded = withheld = False

        async def audited_send(message: Message) -> None:
            nonlocal recorded, withheld
            if withheld:
                # The rest of the answer that was withheld.
                return
            if message["type"] == "http.response.start" and not recorded:
                recorded = True
                if not await _record(scope, message["status"]):
                    withheld = True
                    await _unavailable(send)
                    return
            await send(message)

        try:
            await self.app(scope, receive, audited_send)
        except Exception:
            if not recorded:
                recorded = True
                await _record(scope, 500)
            raise


UNRECORDED = {
    "type": "about:blank",
    "title": "Service unavailable",
    "status": 503,
    "detail": "the request could not be recorded in the audit log, so its answer is withheld; "
    "if it was a step, read the journey's status before sending it again",
}


async def _unavailable(send: Send) -> None:
    body = json.dumps(UNRECORDED).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 503,
            "headers": [
                (b"content-type", b"application/problem+json"),
                (b"content-length", str(len(body)).encode()),
                (b"retry-after", b"5"),
                (b"cache-control", b"no-store"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


async def _record(scope: Scope, status: int) -> bool:
    """Append the request's row; False (and logged) when it could not be written."""
    state: dict[str, Any] = scope.get("state") or {}
    principal: Principal | None = state.get("principal")
    params: dict[str, Any] = scope.get("path_params") or {}
    # A route whose path names no journey may name it in `request.state.journey_id` (the
    # clinic's webhook: its body does).
    journey_id = params.get("journey_id") or state.get("journey_id")
    refusal = state.get("refusal")
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
            # A link's patient id is a UUID; the actor's id records whatever else came.
            patient_id=principal.actor.id
            if principal and principal.is_patient and _is_uuid(principal.actor.id)
            else None,
            source=client[0] if client else None,
            detail={"status": status} | ({"reason": refusal} if refusal else {}),
        )
    except Exception:
        log.exception("could not append to the audit log for %s", scope["path"])
        return False
    return True


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
