"""The console's sign-in, the provider's callback and sign-out (the worklist is worklist.py's,
the case page case_page.py's)."""

import httpx2
from authlib.integrations.base_client import OAuthError
from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from joserfc.errors import JoseError

from api.authorization import may_read_payloads
from api.console.demo import demo_staff
from api.console.guards import (
    NEXT_FIELD,
    NOTICES,
    ConsoleRefusal,
    audit_event,
    complete_sign_in,
    console_gate,
    home_path,
    live_principal,
    sign_in_target,
)
from api.console.oidc import DirectoryRefused, OidcSignIn, RoleRefused, directory_principal
from api.console.rendering import render
from api.console.session import SessionStore, session_state
from db.staff import StaffRepository

router = APIRouter(prefix="/staff", dependencies=[Depends(console_gate)], include_in_schema=False)


def _oidc(request: Request) -> OidcSignIn:
    oidc: OidcSignIn | None = request.app.state.console.oidc
    if oidc is None:
        raise ConsoleRefusal(
            503, "not_configured", "console.sign_in_failed", detail={"reason": "not_configured"}
        )
    return oidc


@router.get("/sign-in", response_class=HTMLResponse)
async def sign_in_page(
    request: Request, ended: str | None = None, next: str | None = None
) -> Response:
    target = sign_in_target(next)
    signed_in = live_principal(request)
    if signed_in is not None:
        return RedirectResponse(target or home_path(signed_in), status_code=303)
    console = request.app.state.console
    settings = console.settings
    development = settings.environment == "development"
    return render(
        request,
        "sign_in.html",
        {
            "notice": ended if ended in NOTICES else None,
            "idle_minutes": settings.session_idle_minutes,
            "max_hours": settings.session_max_hours,
            "oidc": console.oidc is not None,
            "provider_name": settings.oidc_provider_name,
            "development": development,
            "demo_staff": await demo_staff(request.app.state.pool) if development else [],
            "language_switch": True,
            "next": target,
        },
        status=200 if development or console.oidc is not None else 503,
    )


@router.post("/auth/start")
async def start_sign_in(request: Request) -> Response:
    oidc = _oidc(request)
    state = session_state(request.scope)
    try:
        answer = await oidc.start(request, state)
    except httpx2.HTTPError:
        raise ConsoleRefusal(
            503, "provider_down", "console.sign_in_failed", detail={"reason": "provider_down"}
        ) from None
    # Kept in the signed session, not in the provider's round-trip: the callback's address is
    # the provider's to build, and nothing the visitor sends there can change where they go.
    state.ensure().after_sign_in = sign_in_target((await request.form()).get(NEXT_FIELD))
    state.changed = True
    return answer


@router.get("/auth/callback")
async def finish_sign_in(request: Request) -> Response:
    oidc = _oidc(request)
    state = session_state(request.scope)
    wanted = state.session.after_sign_in if state.session is not None else None
    try:
        identity = await oidc.finish(request, state)
    except RoleRefused as refused:
        raise ConsoleRefusal(
            403,
            "role",
            "console.sign_in_refused",
            actor_id=refused.subject,
            actor_role="none",
            detail={"reason": "role", "method": "oidc", "role_claim": refused.claimed},
        ) from None
    except (OAuthError, JoseError) as err:
        # A callback nobody started here, one replayed, an error from the provider (the
        # person declined), or an ID token that fails its checks.
        raise ConsoleRefusal(
            400,
            "sign_in_failed",
            "console.sign_in_failed",
            detail={"reason": str(err.error or "invalid")[:60], "method": "oidc"},
        ) from None
    except httpx2.HTTPError:
        raise ConsoleRefusal(
            503, "provider_down", "console.sign_in_failed", detail={"reason": "provider_down"}
        ) from None
    # The provider says who this is; the staff directory whether they work here, and as what:
    # the active member it links to this subject.
    async with request.app.state.pool.acquire() as conn:
        member = await StaffRepository(conn).member_by_subject(oidc_subject=identity.subject)
    try:
        principal = directory_principal(identity, member)
    except DirectoryRefused as refused:
        raise ConsoleRefusal(
            403,
            "not_staff" if refused.reason == "not_active_staff" else "role_mismatch",
            "console.sign_in_refused",
            actor_id=identity.subject,
            actor_role="none",
            detail={
                "reason": refused.reason,
                "method": "oidc",
                "role_claim": ",".join(role.value for role in identity.roles),
                "directory_role": refused.directory_role,
            },
        ) from None
    return await complete_sign_in(request, principal, method="oidc", target=wanted)


@router.post("/sign-out")
async def sign_out(request: Request) -> RedirectResponse:
    """Ends the session on the server, so that no copy of its cookie opens anything after."""
    state = session_state(request.scope)
    live = state.live
    state.replace(None)
    if live is not None:
        store: SessionStore = request.app.state.console.sessions
        await store.end(request.app.state.pool, session_id=live.session_id, reason="signed_out")
        request.state.principal = live.principal
        await audit_event(request, "console.sign_out", actor=live.principal.actor)
    notice = state.ending if state.ending in NOTICES else "signed_out"
    return RedirectResponse(f"/staff/sign-in?ended={notice}", status_code=303)


@router.get("/temporal-ui-access", status_code=204)
async def temporal_ui_access(request: Request) -> Response:
    """Asked by the TLS proxy before each request for the Temporal Web UI it serves under
    /temporal/ (ops/nginx/templates/journeys-https.conf.template): 204 for a signed-in member
    of staff whose role the codec server decodes payloads for, 401 without a session (the
    proxy then sends them to sign in), 403 for any other role, audited. The UI's own reads
    of health data are the codec server's decodes, each audited there."""
    principal = live_principal(request)
    if principal is None:
        return Response(status_code=401)
    if not may_read_payloads(principal):
        request.state.principal = principal
        await audit_event(
            request,
            "console.temporal_ui_refused",
            actor=principal.actor,
            detail={"status": 403, "path": request.headers.get("x-original-uri", "")[:200]},
        )
        return Response(status_code=403)
    return Response(status_code=204)
