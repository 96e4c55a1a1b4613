"""Sending a journey email from workflow code: one activity call, one timeout, one retry."""

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from activities.email import EmailActivities
    from domain.notifications import NotificationRequest

EMAIL_TIMEOUT = timedelta(minutes=2)
# Outside systems can be down for hours; the journey waits for them rather than failing.
OUTSIDE_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=2),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(minutes=10),
)


async def send_email(request: NotificationRequest) -> None:
    await workflow.execute_activity_method(
        EmailActivities.send_notification,
        request,
        start_to_close_timeout=EMAIL_TIMEOUT,
        retry_policy=OUTSIDE_RETRY,
        summary=f"Email: {request.kind.value.replace('_', ' ')} ({request.audience.value})",
    )
