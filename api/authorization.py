"""Who may do what, on which journeys, asked in one place by the JSON API, the staff console,
the patient's page, the clinic's webhook and the codec server.

First the role: the step declarations (`domain/step_declarations.py`) for steps, the readers'
table (`domain/readers.py`) for reads. Then the journey: each role reaches every journey or
only those assigned to its people (`domain/readers.py`, `SCOPES`: a case manager their
patients, a specialist the journeys booked with them, a reviewer the cases in VALIDATION and
those they decided, a patient's link its own journey). `reaches` is the rule for one journey;
lists are narrowed by the same scopes in SQL (`db/journey_queries.reach_clause`), and a test
holds the two to the same answers.

A refusal is a `Forbidden` with a code (`role`, `another_journey`, `not_assigned`) that the
console words and the request's row in the audit log keeps; the API answers it as a 403
problem+json (api/problems.py).
"""

from collections.abc import Set as AbstractSet

import asyncpg

from api.reads.errors import Forbidden, JourneyNotFound
from api.tokens import Principal
from db.journey_queries import JourneyAssignment, JourneyQueries
from domain.actors import Role
from domain.readers import PAYLOAD_READERS, SCOPES, Reach, Scope
from domain.stages import Stage
from domain.step_declarations import STEPS, StepName

# The code of a refusal on a journey outside the caller's reach, and what it says, by their
# role's scope.
NOT_ASSIGNED = "not_assigned"
_NOT_REACHED = {
    Scope.ASSIGNED: "this journey is not assigned to you",
    Scope.BOOKED: "this journey is not booked with you",
    Scope.REVIEWING: "this case is past validation and was not reviewed by you",
}


def authorize_role(principal: Principal, roles: AbstractSet[Role]) -> None:
    """Refuse a role outside `roles`, for a read of no one journey (a list, the overview).
    A list shows only the journeys `reach_of` the caller reaches."""
    if principal.actor.role not in roles:
        allowed = ", ".join(sorted(r.value for r in roles))
        raise Forbidden("role", f"this is for: {allowed}")


def reach_of(principal: Principal) -> Reach | None:
    """The journeys `principal` reaches, for narrowing a list; None for none at all."""
    scope = SCOPES.get(principal.actor.role)
    if scope is None:
        return None
    person = principal.journey_id if scope is Scope.OWN_LINK else principal.actor.id
    return Reach(scope, person or "")


def reaches(reach: Reach | None, journey: JourneyAssignment) -> bool:
    """Whether one journey is within `reach`: the rule `reach_clause` applies to lists."""
    if reach is None:
        return False
    match reach.scope:
        case Scope.EVERY:
            return True
        case Scope.ASSIGNED:
            return journey.case_manager_id == reach.person
        case Scope.BOOKED:
            return journey.specialist_id == reach.person
        case Scope.REVIEWING:
            return journey.stage is Stage.VALIDATION or journey.reviewer_id == reach.person
        case Scope.OWN_LINK:
            return journey.journey_id == reach.person


async def authorize(
    pool: asyncpg.Pool, principal: Principal, journey_id: str, roles: AbstractSet[Role]
) -> JourneyAssignment:
    """Refuse a role outside `roles`, a patient's link to another journey, and a journey the
    caller's role does not reach for them; `JourneyNotFound` for no such journey. Returns
    whom the journey is assigned to."""
    authorize_role(principal, roles)
    if principal.is_patient and principal.journey_id != journey_id:
        raise Forbidden("another_journey", "this link belongs to another journey")
    async with pool.acquire() as conn:
        journey = await JourneyQueries(conn).assignment(journey_id=journey_id)
    if journey is None:
        raise JourneyNotFound()
    reach = reach_of(principal)
    if not reaches(reach, journey):
        why = _NOT_REACHED.get(reach.scope) if reach else None
        raise Forbidden(NOT_ASSIGNED, why or "this journey is not yours to reach")
    return journey


async def authorize_step(
    pool: asyncpg.Pool, principal: Principal, journey_id: str, step: StepName
) -> JourneyAssignment:
    """Refuse a step the caller's role may not take, or on a journey they do not reach."""
    return await authorize(pool, principal, journey_id, STEPS[step].roles)


def may_read_payloads(principal: Principal) -> bool:
    """Whether the codec server decodes payloads for this caller (and the production proxy
    serves them the Temporal UI): only roles that reach every journey, as it cannot tell
    whose journey a payload is."""
    return principal.actor.role in PAYLOAD_READERS
