"""Who may send a body as large as a document upload, asked before a byte of it is read.

A body is held to JOURNEYS_MAX_BODY_BYTES (api/limits.py) unless it is a document upload to a
journey by someone who may upload there: a token for that journey in the JSON API's upload
(`POST /api/v1/journeys/{id}/documents`), a current patient link on the patient page's
(`POST /my-journey/documents?token=…`), a signed-in member of staff on the console's
(`POST /staff/journeys/{id}/actions/documents`). Each route checks the caller again as it
always does; this check only decides how much of the body is read, so that nobody can make the
API read megabytes it would refuse (the JSON API's framework reads a form before the route's
dependencies run, the console's CSRF check reads it before the session is looked at).
"""

import re
import uuid

from fastapi import Request
from starlette.types import Scope

from api.auth import bearer, ensure_current_link, get_principal
from api.authorization import authorize_step
from api.console.guards import live_principal
from api.problems import ProblemError
from api.reads.errors import ReadRefused
from api.tokens import Principal, TokenError, TokenVerifier
from domain.step_declarations import StepName
from patient_links import PATIENT_PAGE_PATH

_JOURNEY = r"(?P<journey_id>[0-9a-fA-F-]{36})"
API_UPLOAD = re.compile(rf"/api/v1/journeys/{_JOURNEY}/documents/?")
CONSOLE_UPLOAD = re.compile(rf"/staff/journeys/{_JOURNEY}/actions/documents/?")
PAGE_UPLOAD = re.compile(rf"{re.escape(PATIENT_PAGE_PATH)}/documents/?")


async def may_upload(scope: Scope) -> bool:
    """Whether the request is a document upload by someone who may upload to its journey."""
    if scope.get("method") != "POST":
        return False
    path = scope.get("path", "")
    request = Request(scope)
    principal: Principal | None
    if found := API_UPLOAD.fullmatch(path):
        journey_id = found["journey_id"]
        try:
            principal = await get_principal(
                request, await bearer(request), request.app.state.verifier
            )
        except (ProblemError, ReadRefused):
            return False
    elif found := CONSOLE_UPLOAD.fullmatch(path):
        journey_id = found["journey_id"]
        principal = live_principal(request)
    elif PAGE_UPLOAD.fullmatch(path):
        principal = await _link(request)
        journey_id = principal.journey_id if principal else None
    else:
        return False
    if principal is None or journey_id is None:
        return False
    try:
        await authorize_step(
            request.app.state.pool, principal, str(uuid.UUID(journey_id)), StepName.DOCUMENTS
        )
    except (ReadRefused, ValueError):
        return False
    return True


async def _link(request: Request) -> Principal | None:
    """The patient page's link, if it is current."""
    token = request.query_params.get("token")
    if not token:
        return None
    verifier: TokenVerifier = request.app.state.verifier
    try:
        principal = verifier.verify_patient_link(token)
        await ensure_current_link(request.app.state.pool, principal)
    except (TokenError, ReadRefused):
        # An erased journey's link (410) uploads nothing either.
        return None
    return principal
