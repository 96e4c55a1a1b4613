"""Who calls the codec server: one function, so each way of signing in is added in one place.

The Temporal Web UI 2.x calls the codec server from the browser with `Content-Type:
application/json` and `X-Namespace`, and adds identity in one of two ways, set in its codec
settings:

- `passAccessToken`: `Authorization: Bearer <the UI's OIDC access token>`, sent only when the
  endpoint is https (the UI refuses to send a token over plain http);
- `includeCredentials`: the browser's cookies for the codec server's site (`credentials:
  'include'`), which is how the staff console's session reaches it.

The Temporal CLI sends what `--codec-auth` says as the Authorization header.
"""

from fastapi import Request
from starlette.concurrency import run_in_threadpool

from api.auth import token_refused
from api.console.guards import audit_session_ended
from api.console.session import COOKIE_NAME
from api.problems import ProblemError
from api.tokens import Principal, TokenError, TokenVerifier


async def staff_identity(request: Request) -> Principal:
    """The staff member calling, from the first way that names one; 401 when none does.

    Ways, in order:

    1. a bearer token (a staff JWT, or the OIDC provider's access token that the UI passes
       on), verified as the API verifies every staff token;
    2. the staff console's session cookie, when no Authorization header came: the UI
       sends it with "include credentials" set in its codec settings. A cookie reaches this
       route only from the UI's origin (CORS, api/codec/cors.py) and only with a JSON body,
       which a cross-site form cannot send (api/codec/routes.py refuses other media types),
       so it needs no further CSRF token. The session is checked on the server as every
       console page checks it: one signed out, idle, past its lifetime or no longer backed by
       the staff directory counts as none.
    """
    principal = await _from_bearer(request) or await _from_console_session(request)
    if principal is None:
        raise ProblemError(
            401,
            "Authentication required",
            "send a staff bearer token (the Temporal UI passes its access token to an https "
            "codec endpoint; the CLI sends --codec-auth 'Bearer <token>')",
            headers={"WWW-Authenticate": "Bearer"},
        )
    if principal.is_patient:
        raise ProblemError(403, "Forbidden", "the codec server is for staff")
    request.state.principal = principal
    return principal


async def _from_bearer(request: Request) -> Principal | None:
    """The principal of the bearer token; None when the request carries none."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    token = token.strip()
    # The UI sends "Bearer " with nothing after it when it has no access token.
    if scheme.lower() != "bearer" or not token:
        return None
    verifier: TokenVerifier = request.app.state.verifier
    try:
        if verifier.may_fetch_keys:
            return await run_in_threadpool(verifier.verify, token)
        return verifier.verify(token)
    except TokenError as err:
        raise token_refused(err) from None


async def _from_console_session(request: Request) -> Principal | None:
    console = getattr(request.app.state, "console", None)
    if console is None:
        return None
    # Not counted as the session's activity: the UI calls the codec server by itself (a page
    # it refreshes), and a session must idle out while its member is away.
    state = await console.sessions.read(
        request.app.state.pool, request.cookies.get(COOKIE_NAME), touch=False
    )
    # A session this call found over has ended on the server: its audit row is written here.
    await audit_session_ended(request, state)
    principal: Principal | None = state.principal()
    return principal
