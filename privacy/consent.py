"""Withdrawing consent to the processing of health data (GDPR Art. 7(3)).

The journey ends WITHDRAWN for the coded reason `consent_withdrawn`, its bookings undone as
for any withdrawal, and only the withdrawal's confirmation is sent; the consent row then says
when and by whom it was withdrawn, which makes the journey's records eligible for erasure.
Withdrawing after the journey ended marks the consent the same way.
"""

import asyncpg
from temporalio.client import Client

from db.consents import Consent, ConsentRepository
from db.erasure import ErasureRepository
from domain.actors import Actor
from domain.privacy import CONSENT_PURPOSE_HEALTH_DATA
from domain.steps import WithdrawalReason
from privacy.journey_end import end_journey
from privacy.refusals import PrivacyRefused, RefusalKind


def _already(consent: Consent) -> PrivacyRefused:
    assert consent.withdrawn_at is not None
    return PrivacyRefused(
        RefusalKind.CONFLICT,
        f"consent was already withdrawn on {consent.withdrawn_at:%Y-%m-%d %H:%M} UTC",
    )


async def withdraw_consent(
    pool: asyncpg.Pool, client: Client, journey_id: str, *, actor: Actor, within: float
) -> Consent:
    """End the journey if it runs, then mark its consent withdrawn; refused, with nothing
    changed, when there is no consent in force."""
    async with pool.acquire() as conn:
        check = await ErasureRepository(conn).check(journey_id=journey_id)
        if not check.exists:
            raise PrivacyRefused(RefusalKind.NOT_FOUND, "no such journey")
        consents = [
            c
            for c in await ConsentRepository(conn).for_journey(journey_id=journey_id)
            if c.purpose == CONSENT_PURPOSE_HEALTH_DATA
        ]
    if not consents:
        raise PrivacyRefused(RefusalKind.NOT_FOUND, "this journey has no consent on file")
    if consents[-1].withdrawn:
        raise _already(consents[-1])
    if check.running:
        # The journey stops first: marking the consent and then failing to stop the journey
        # would leave it processing data without consent.
        await end_journey(
            client,
            journey_id,
            actor=actor,
            reason=WithdrawalReason.CONSENT_WITHDRAWN,
            within=within,
        )
    async with pool.acquire() as conn:
        withdrawn = await ConsentRepository(conn).withdraw(
            journey_id=journey_id,
            purpose=CONSENT_PURPOSE_HEALTH_DATA,
            actor_id=actor.id,
            actor_role=actor.role.value,
        )
        if withdrawn is None:
            # Another withdrawal won the race; it stands.
            current = await ConsentRepository(conn).for_journey(journey_id=journey_id)
            raise _already(current[-1])
    return withdrawn
