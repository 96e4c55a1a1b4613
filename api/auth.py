"""The current principal, from a bearer token or an emailed link's `token` parameter."""

from collections.abc import Set as AbstractSet
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool

from api.problems import ProblemError
from api.tokens import Principal, TokenError, TokenVerifier
from domain.actors import Role

bearer = HTTPBearer(
    auto_error=False,
    description="A staff JWT, or a patient link token (also accepted as `?token=`).",
)


async def get_verifier(request: Request) -> TokenVerifier:
    verifier: TokenVerifier = request.app.state.verifier
    return verifier


async def get_principal(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
    verifier: Annotated[TokenVerifier, Depends(get_verifier)],
) -> Principal:
    token = credentials.credentials if credentials else request.query_params.get("token")
    if not token:
        raise ProblemError(
            401,
            "Authentication required",
            "send a bearer token",
            headers={"WWW-Authenticate": "Bearer"},
        )
    try:
        if verifier.may_fetch_keys:
            principal = await run_in_threadpool(verifier.verify, token)
        else:
            principal = verifier.verify(token)
    except TokenError as err:
        raise ProblemError(
            401,
            "Authentication required",
            str(err),
            headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
        ) from None
    request.state.principal = principal
    return principal


PrincipalDep = Annotated[Principal, Depends(get_principal)]


def authorize(principal: Principal, journey_id: str, roles: AbstractSet[Role]) -> None:
    """Refuse a role outside `roles`, and a patient link of another journey."""
    if principal.actor.role not in roles:
        allowed = ", ".join(sorted(r.value for r in roles))
        raise ProblemError(403, "Forbidden", f"this step is for: {allowed}")
    if principal.is_patient and principal.journey_id != journey_id:
        raise ProblemError(403, "Forbidden", "this link belongs to another journey")
