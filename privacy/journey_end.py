"""Ending a running journey before a privacy step acts on its records: a withdrawal with the
step's reason, the same saga as any withdrawal (bookings undone, the patient told)."""

import asyncio
from typing import Any

from temporalio.client import (
    Client,
    WorkflowFailureError,
    WorkflowHandle,
    WorkflowUpdateFailedError,
    WorkflowUpdateRPCTimeoutOrCancelledError,
)
from temporalio.service import RPCError, RPCStatusCode

from domain.actors import Actor
from domain.errors import StepError
from domain.names import journey_workflow_id
from domain.steps import Withdrawal, WithdrawalReason
from privacy.refusals import PrivacyRefused, RefusalKind
from workflows.journey import PatientJourney


async def end_journey(
    client: Client, journey_id: str, *, actor: Actor, reason: WithdrawalReason, within: float
) -> bool:
    """Withdraw the journey for `reason` and wait until its run has ended, so its last stage
    is recorded in PostgreSQL too; False when the server has no open run of it (never
    started, or ended and gone).

    A journey that ended, or is being withdrawn, meanwhile is waited for the same way: what
    matters to the caller is that it no longer runs.
    """
    handle: WorkflowHandle[Any, Any] = client.get_workflow_handle_for(
        PatientJourney.run, journey_workflow_id(journey_id)
    )
    try:
        async with asyncio.timeout(within):
            try:
                await handle.execute_update(
                    PatientJourney.withdraw, Withdrawal(actor=actor, reason=reason)
                )
            except WorkflowUpdateFailedError as err:
                if getattr(err.cause, "type", None) == StepError.FORBIDDEN:
                    raise PrivacyRefused(
                        RefusalKind.CONFLICT, "this role may not withdraw the journey"
                    ) from None
            try:
                await handle.result()
            except WorkflowFailureError:
                # A journey that failed or was terminated runs no more either.
                pass
    except (TimeoutError, WorkflowUpdateRPCTimeoutOrCancelledError):
        raise PrivacyRefused(
            RefusalKind.NOT_ANSWERING,
            "the journey is being withdrawn and has not ended yet (an open incident may hold "
            "it); try again once its status shows it ended",
        ) from None
    except RPCError as err:
        if err.status == RPCStatusCode.NOT_FOUND:
            return False
        raise
    return True
