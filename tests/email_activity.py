"""The email activity on its own, as the worker builds it, with partners of the tests' own:
for the tests that run it in an `ActivityEnvironment` against the real local SMTP server."""

import asyncpg

from activities.email import EmailActivities, Partners
from activities.messages import MessageComposer
from domain.notifications import Audience, NotificationKind, NotificationRequest
from integrations.mail import MailSender

PARTNERS = Partners(
    coordinators="staff@clinic.test",
    medical_lead="lead@clinic.test",
    hotel="hotel@partner.test",
    transfer="transfer@partner.test",
    clinic_name="Clinic",
    clinic_address="Street 1",
    video_link_base="https://video.test",
    public_base_url="http://127.0.0.1:8000",
)


def new_inquiry(journey_id: str) -> NotificationRequest:
    """The coordinators' email of a new inquiry, which waits for medical review."""
    return NotificationRequest(
        journey_id=journey_id,
        step="staff-new-inquiry",
        kind=NotificationKind.STAFF_NEW_INQUIRY,
        audience=Audience.COORDINATORS,
    )


def email_activities(
    pool: asyncpg.Pool, sender: MailSender, partners: Partners = PARTNERS
) -> EmailActivities:
    """The email activities sending through `sender`, their Message-IDs in the clinic.test
    domain (`<journey>.<step>@clinic.test`)."""
    return EmailActivities(
        sender=sender,
        pool=pool,
        composer=MessageComposer(sender="Journeys <journeys@clinic.test>"),
        partners=partners,
        message_id_domain="clinic.test",
    )
