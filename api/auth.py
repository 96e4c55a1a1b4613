"""The current principal, from a bearer token or an emailed link's `token` parameter."""

from typing import Annotated

import asyncpg
from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool

from api.problems import ProblemError
from api.reads.errors import JourneyErased
from api.tokens import LinkRevoked, NotALink, Principal, TokenError, TokenVerifier
from db.patient_links import PatientLinkRepository

bearer = HTTPBearer(
    auto_error=False,
    description="A staff JWT, or a patient link token (a link also as `?token=`, the way its "
    "email carries it; a staff token never).",
)


async def get_verifier(request: Request) -> TokenVerifier:
    verifier: TokenVerifier = request.app.state.verifier
    return verifier


async def get_principal(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
    verifier: Annotated[TokenVerifier, Depends(get_verifier)],
) -> Principal:
    # Only a patient link may come in the address, as its email carries it: addresses are
    # kept in proxies' logs and browsers' histories, so a staff token goes in the header alone.
    in_address = credentials is None
    token = credentials.credentials if credentials else request.query_params.get("token")
    if not token:
        raise ProblemError(
            401,
            "Authentication required",
            "send a bearer token",
            headers={"WWW-Authenticate": "Bearer"},
        )
    try:
        if in_address:
            principal = verifier.verify_patient_link(token)
        elif verifier.may_fetch_keys:
            principal = await run_in_threadpool(verifier.verify, token)
        else:
            principal = verifier.verify(token)
        if principal.is_patient:
            await ensure_current_link(request.app.state.pool, principal)
    except NotALink:
        raise ProblemError(
            401,
            "Authentication required",
            "only a patient link may be sent as `?token=`; send a staff token in the "
            "Authorization header",
            headers={"WWW-Authenticate": "Bearer"},
        ) from None
    except TokenError as err:
        raise token_refused(err) from None
    request.state.principal = principal
    return principal


def token_refused(err: TokenError) -> ProblemError:
    """401 for a token that does not verify, saying why, as RFC 6750 words it."""
    return ProblemError(
        401,
        "Authentication required",
        str(err),
        headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
    )


async def ensure_current_link(pool: asyncpg.Pool, principal: Principal) -> None:
    """Refuse a patient link of a generation its journey's links have moved past, or of a
    journey whose personal data was erased (`JourneyErased`, answered 410 Gone).

    A link is a bearer token valid for its whole TTL; the generation, kept in PostgreSQL, is
    what lets a coordinator withdraw one before then (a link forwarded by mistake, a lost
    phone). One indexed read per patient request.
    """
    assert principal.journey_id is not None
    async with pool.acquire() as conn:
        link = await PatientLinkRepository(conn).state(principal.journey_id)
    if link.erased_at is not None:
        # Said before the generation, which the erasure moved on: the link's holder learns
        # why it opens nothing, and nothing more.
        raise JourneyErased(f"{link.erased_at:%Y-%m-%d}")
    if principal.link_generation != link.generation:
        raise LinkRevoked(
            "the link has been replaced by a newer one; use the link in the most recent email "
            "we sent you"
        )


PrincipalDep = Annotated[Principal, Depends(get_principal)]
