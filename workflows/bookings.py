"""Calling the booking activities from workflow code: one timeout, one retry, and the caller's
patience with the calendar or the clinic, after which its incident desk (or its saga) takes
over."""

from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import TypeVar

from temporalio import workflow

from workflows.timeouts import BOOKING_TIMEOUT, OUTSIDE_RETRY

with workflow.unsafe.imports_passed_through():
    from activities.bookings import BookingActivities

A = TypeVar("A")
R = TypeVar("R")


async def booking_call(
    activity: Callable[[BookingActivities, A], Awaitable[R]],
    request: A,
    patience: timedelta | None,
    summary: str,
) -> R:
    return await workflow.execute_activity_method(
        activity,
        request,
        start_to_close_timeout=BOOKING_TIMEOUT,
        schedule_to_close_timeout=patience,
        retry_policy=OUTSIDE_RETRY,
        summary=summary,
    )
