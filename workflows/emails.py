"""Sending a journey email from workflow code: one activity call, one timeout, one retry."""

from datetime import timedelta

from temporalio import workflow
from temporalio.exceptions import ActivityError

from workflows.timeouts import EMAIL_TIMEOUT, INCIDENT_NOTICE_PATIENCE, OUTSIDE_RETRY

with workflow.unsafe.imports_passed_through():
    from activities.email import EmailActivities
    from domain.incidents import Incident
    from domain.notifications import Audience, NotificationKind, NotificationRequest


async def send_email(request: NotificationRequest, patience: timedelta | None = None) -> None:
    await workflow.execute_activity_method(
        EmailActivities.send_notification,
        request,
        start_to_close_timeout=EMAIL_TIMEOUT,
        schedule_to_close_timeout=patience,
        retry_policy=OUTSIDE_RETRY,
        summary=f"Email: {request.kind.value.replace('_', ' ')} ({request.audience.value})",
    )


async def tell_coordinators(journey_id: str, incident: Incident, step_prefix: str = "") -> None:
    """Email the coordinators about an incident, once; a failure here is only logged."""
    try:
        await send_email(
            NotificationRequest(
                journey_id=journey_id,
                step=f"{step_prefix}incident-{incident.number}",
                kind=NotificationKind.INCIDENT_OPENED,
                audience=Audience.COORDINATORS,
                facts={"incident": incident.kind.value, "incident_no": str(incident.number)},
            ),
            INCIDENT_NOTICE_PATIENCE,
        )
    except ActivityError:
        workflow.logger.warning("coordinators not told of incident %s by email", incident.number)
