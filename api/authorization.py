"""Who may do what, asked in one place by the JSON API, the staff console, the patient's page
and the codec server.

The roles come from the step declarations (`domain/step_declarations.py`) for steps, and from
the readers' table (`domain/readers.py`) for reads; a patient's link reaches its own journey
only. A refusal is a `Forbidden`, with a code (`role`, `another_journey`) the console words and
the audit log keeps; the API answers it as a 403 problem+json (api/problems.py).
"""

from collections.abc import Set as AbstractSet

from api.reads.errors import Forbidden
from api.tokens import Principal
from domain.actors import Role
from domain.readers import PAYLOAD_READERS
from domain.step_declarations import STEPS, StepName


def authorize(principal: Principal, journey_id: str | None, roles: AbstractSet[Role]) -> None:
    """Refuse a role outside `roles`, and a patient's link to another journey (`journey_id`
    None: a read of no one journey, such as the worklist)."""
    if principal.actor.role not in roles:
        allowed = ", ".join(sorted(r.value for r in roles))
        raise Forbidden("role", f"this is for: {allowed}")
    if principal.is_patient and principal.journey_id != journey_id:
        raise Forbidden("another_journey", "this link belongs to another journey")


def authorize_step(principal: Principal, journey_id: str, step: StepName) -> None:
    """Refuse a step the caller's role may not take, or on a journey their link is not for."""
    authorize(principal, journey_id, STEPS[step].roles)


def may_read_payloads(principal: Principal) -> bool:
    """Whether the codec server decodes payloads for this caller (and the production proxy
    serves them the Temporal UI)."""
    return principal.actor.role in PAYLOAD_READERS
