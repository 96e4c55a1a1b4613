"""How long the journey's activities may take and how they are retried, named once."""

from datetime import timedelta

from temporalio.common import RetryPolicy

RECORDS_TIMEOUT = timedelta(seconds=30)
BOOKING_TIMEOUT = timedelta(minutes=2)
EMAIL_TIMEOUT = timedelta(minutes=2)
# Outside systems can be down for hours; the journey waits for them rather than failing,
# up to the policy's patience, after which an incident asks a coordinator.
OUTSIDE_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=2),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(minutes=10),
)
# The coordinators' notice of an incident is tried for this long only: when the mail server
# is what failed, the incident still shows in the UI and the API, and the journey must not
# wait a second patience before a coordinator can resolve it.
INCIDENT_NOTICE_PATIENCE = timedelta(minutes=10)
