"""Waiting in workflow code for something to come true, with a deadline on the workflow's
clock."""

from collections.abc import Callable
from datetime import datetime, timedelta

from temporalio import workflow


async def wait_until(condition: Callable[[], bool], until: datetime, summary: str) -> bool:
    """Wait for `condition` until `until`; False when the time ran out. A deadline already
    past starts no timer."""
    remaining = until - workflow.now()
    if remaining > timedelta(0):
        try:
            await workflow.wait_condition(condition, timeout=remaining, timeout_summary=summary)
        except TimeoutError:
            pass
    return condition()
