"""What every console request passes before its route, and what pages ask for to need sign-in.

The gate first writes the audit row of a session the request found over (ended by it, or sent
again after it ended). It then refuses, in this order: any token (a patient's link or an API
token: the console acts on its own session only, and a link in a console URL would end up in
logs and history), a session cookie that is not ours, and on every POST a missing or wrong form
token. Each refusal is a page saying nothing changed, and a row in the audit log.
"""

import hmac
from typing import Annotated, Any
from urllib.parse import urlencode, urlsplit

import jwt
from fastapi import Depends, FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from api.console.rendering import render
from api.console.session import DIRECTORY_ENDINGS, SessionState, SessionStore, session_state
from api.console.viewer import Viewer, page_language, viewer_zone
from api.tokens import PATIENT_LINK_AUDIENCE, Principal
from domain.actors import Actor
from domain.readers import KEEPS_STAFF_DIRECTORY

SIGN_IN_PATH = "/staff/sign-in"
WORKLIST_PATH = "/staff/"
DIRECTORY_PATH = "/staff/directory"
# The query parameter and form field that carry the page wanted before sign-in.
NEXT_FIELD = "next"
CSRF_FIELD = "csrf_token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# Endings the sign-in page has words for (`?ended=`).
NOTICES = frozenset({"idle", "lifetime", "signed_out", "role_changed"})


class ConsoleRefusal(Exception):
    """A console request refused: `kind` picks the page's words, `action` names its audit row
    (None where the refused read has written its own, beside the row every request leaves)."""

    def __init__(
        self,
        status: int,
        kind: str,
        action: str | None,
        *,
        actor: Actor | None = None,
        actor_id: str | None = None,
        actor_role: str | None = None,
        detail: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(kind)
        self.status = status
        self.kind = kind
        self.action = action
        self.actor = actor
        self.actor_id = actor_id
        self.actor_role = actor_role
        self.detail = detail or {}


class SignInRequired(Exception):
    """A page needs a signed-in member of staff; `ending` says why the last session ended."""

    def __init__(self, ending: str | None) -> None:
        super().__init__(ending or "signed out")
        self.ending = ending


async def audit_event(
    request: Request,
    action: str,
    *,
    actor: Actor | None = None,
    actor_id: str | None = None,
    actor_role: str | None = None,
    detail: dict[str, Any] | None = None,
) -> None:
    """One row in the audit log for a console event (ids and codes only)."""
    client = request.client
    await request.app.state.audit.append(
        actor_id=actor.id if actor else actor_id or "anonymous",
        actor_role=actor.role.value if actor else actor_role or "public",
        action=action,
        source=client.host if client else None,
        detail=detail or {},
    )


def _token_kind(token: str) -> str:
    """What a refused token claims to be, unverified: the audit row says what was tried."""
    try:
        claims = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError:
        return "unreadable"
    return "patient_link" if claims.get("aud") == PATIENT_LINK_AUDIENCE else "bearer_token"


async def audit_session_ended(request: Request, state: SessionState) -> None:
    """The audit row of a session this request ended: why (and, when the staff directory ended
    it, how many of the member's sessions ended with it)."""
    ended = state.ended
    if ended is None or not ended.now:
        return
    detail: dict[str, Any] = {"reason": state.ending}
    if state.ending in DIRECTORY_ENDINGS:
        detail["sessions"] = ended.sessions
    await audit_event(request, "console.session_ended", actor=ended.actor, detail=detail)


async def console_gate(request: Request) -> None:
    state = session_state(request.scope)
    ended = state.ended
    if ended is not None:
        # Written once per request: its answer, refused or not, deletes the cookie. A session
        # that had ended before was sent again: by a request that crossed its ending, or by a
        # copy of its cookie.
        if ended.now:
            await audit_session_ended(request, state)
        else:
            await audit_event(
                request,
                "console.session_refused",
                actor=ended.actor,
                detail={"reason": "ended", "ended": state.ending},
            )
    link = request.query_params.get("token")
    authorization = request.headers.get("authorization")
    if link is not None or authorization is not None:
        presented = link if link is not None else (authorization or "").partition(" ")[2]
        raise ConsoleRefusal(
            403,
            "token",
            "console.token_refused",
            detail={
                "presented_as": "query" if link is not None else "authorization_header",
                "token": _token_kind(presented.strip()),
            },
        )
    if state.ending == "forged":
        raise ConsoleRefusal(401, "forged", "console.session_refused", detail={"reason": "forged"})
    if request.method in SAFE_METHODS:
        return
    sent = (await request.form()).get(CSRF_FIELD)
    expected = state.expected_csrf
    if not (isinstance(sent, str) and expected and hmac.compare_digest(sent, expected)):
        raise ConsoleRefusal(
            403,
            "csrf",
            "console.csrf_refused",
            actor=state.live.principal.actor if state.live is not None else None,
            detail={"reason": "missing" if not sent else "mismatch"},
        )


async def staff_session(request: Request) -> Principal:
    """The signed-in member of staff; a page without one redirects to sign-in, or, when the
    request's session was of someone the staff directory does not have active, says that they
    cannot sign in (the gate wrote the audit row)."""
    state = session_state(request.scope)
    principal = state.principal()
    if principal is None:
        if state.ended is not None and state.ended.inactive:
            raise ConsoleRefusal(403, "not_staff", None)
        raise SignInRequired(state.ending if state.ending in NOTICES else None)
    # The audit trail's row for this request names who made it.
    request.state.principal = principal
    return principal


StaffSessionDep = Annotated[Principal, Depends(staff_session)]


async def current_viewer(request: Request, principal: StaffSessionDep) -> Viewer:
    """The signed-in member of staff with the language and time zone their pages use."""
    live = session_state(request.scope).live
    zone, source = viewer_zone(live.time_zone if live else None, request)
    return Viewer(
        principal=principal, language=page_language(request), time_zone=zone, zone_source=source
    )


ViewerDep = Annotated[Viewer, Depends(current_viewer)]


def home_path(principal: Principal) -> str:
    """A member's first page: the staff directory for those who keep it (they read no
    journey), else the worklist."""
    return DIRECTORY_PATH if principal.actor.role in KEEPS_STAFF_DIRECTORY else WORKLIST_PATH


def live_principal(request: Request) -> Principal | None:
    """The signed-in member of staff, if any, for pages that show them without needing them."""
    return session_state(request.scope).principal()


def sign_in_target(value: object) -> str | None:
    """`value` if it is a console page to open after sign-in, otherwise None.

    Only a local path under /staff/ passes: anything that a browser could read as another
    site (a scheme, `//host`, a backslash, which some browsers take for a slash, control
    characters) would make sign-in an open redirect. The sign-in pages themselves and dot
    segments are refused too, so the target is always a plain console page.
    """
    if not isinstance(value, str) or not 0 < len(value) <= 2000:
        return None
    if "\\" in value or any(ord(c) < 0x21 or ord(c) == 0x7F for c in value):
        return None
    parts = urlsplit(value)
    if parts.scheme or parts.netloc or not parts.path.startswith(WORKLIST_PATH):
        return None
    if value.startswith("//") or ".." in parts.path.split("/") or "." in parts.path.split("/"):
        return None
    if parts.path.startswith((SIGN_IN_PATH, "/staff/auth/", "/staff/sign-out")):
        return None
    return value


async def complete_sign_in(
    request: Request, principal: Principal, *, method: str, target: object = None
) -> Response:
    """Start a new session for `principal` on the server (a new id and form token, nothing
    kept from before but the language chosen) and go to the page they asked for before
    signing in (`target`, when it is a console page), or else their first page. A session this
    browser still had ends: a sign-in never carries on an earlier session's id."""
    state = session_state(request.scope)
    store: SessionStore = request.app.state.console.sessions
    pool = request.app.state.pool
    before = state.session
    if state.live is not None:
        await store.end(pool, session_id=state.live.session_id, reason="replaced")
    state.replace(
        await store.start(
            pool,
            principal=principal,
            method=method,
            language=before.language if before is not None else None,
        )
    )
    request.state.principal = principal
    await audit_event(request, "console.sign_in", actor=principal.actor, detail={"method": method})
    return RedirectResponse(sign_in_target(target) or home_path(principal), status_code=303)


async def _refused(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ConsoleRefusal)
    if exc.action is not None:
        await audit_event(
            request,
            exc.action,
            actor=exc.actor,
            actor_id=exc.actor_id,
            actor_role=exc.actor_role,
            detail=exc.detail | {"status": exc.status},
        )
    page: HTMLResponse = render(
        request,
        "refused.html",
        {"kind": exc.kind, "status": exc.status},
        status=exc.status,
        principal=live_principal(request),
    )
    return page


async def _sign_in(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, SignInRequired)
    query: dict[str, str] = {"ended": exc.ending} if exc.ending else {}
    # A page someone followed a link to (a case from an email) opens again after sign-in; a
    # form sent after the session ended cannot be replayed, so only reads are kept.
    if request.method in SAFE_METHODS:
        wanted = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        if wanted != WORKLIST_PATH and sign_in_target(wanted):
            query[NEXT_FIELD] = wanted
    target = SIGN_IN_PATH + (f"?{urlencode(query)}" if query else "")
    return RedirectResponse(target, status_code=303)


def install_console_handlers(app: FastAPI) -> None:
    app.add_exception_handler(ConsoleRefusal, _refused)
    app.add_exception_handler(SignInRequired, _sign_in)
