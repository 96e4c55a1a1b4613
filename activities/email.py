"""Journey emails through SMTP, sent at most once per journey step as far as SMTP allows.

The outbox row for (journey, step) is written before sending and marked sent after. A retry
finds the mark and sends nothing. The one window left: a crash after the SMTP server accepted
the message and before the mark is written sends it again on retry, with the same Message-ID,
which lets mail clients and most servers drop the copy.
"""

import asyncpg
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.messages import MessageComposer
from db.journeys import JourneyRepository
from db.outbox import OutboxRepository
from domain.notifications import Audience, NotificationRequest, NotificationResult
from integrations.smtp import MailRejected, MailSender


def message_id_for(journey_id: str, step: str, domain: str) -> str:
    """A stable Message-ID: the same journey step always yields the same id."""
    return f"<{journey_id}.{step}@{domain}>"


class EmailActivities:
    """Renders and sends journey notifications; the SMTP client is handed in."""

    def __init__(
        self,
        *,
        sender: MailSender,
        pool: asyncpg.Pool,
        composer: MessageComposer,
        staff_address: str,
        public_base_url: str,
        message_id_domain: str,
    ) -> None:
        self._sender = sender
        self._pool = pool
        self._composer = composer
        self._staff_address = staff_address
        self._public_base_url = public_base_url.rstrip("/")
        self._domain = message_id_domain

    @activity.defn(name="send_notification")
    async def send_notification(self, request: NotificationRequest) -> NotificationResult:
        message_id = message_id_for(request.journey_id, request.step, self._domain)
        async with self._pool.acquire() as conn:
            status = await OutboxRepository(conn).claim(
                journey_id=request.journey_id,
                step=request.step,
                kind=request.kind.value,
                audience=request.audience.value,
                message_id=message_id,
            )
            if status == "sent":
                return NotificationResult(message_id=message_id, already_sent=True)
            context = {
                "reference": request.journey_id.split("-", 1)[0].upper(),
                "journey_id": request.journey_id,
                "journey_url": f"{self._public_base_url}/api/v1/journeys/{request.journey_id}",
            }
            if request.audience is Audience.PATIENT:
                recipient = await JourneyRepository(conn).patient_recipient(request.journey_id)
                if recipient is None:
                    raise ApplicationError(
                        f"journey {request.journey_id} has no patient record",
                        type="RecipientNotFound",
                        non_retryable=True,
                    )
                to, language = recipient.email, recipient.language
                context["name"] = recipient.full_name
            else:
                to, language = self._staff_address, "en"
        message = self._composer.compose(
            kind=request.kind.value,
            language=language,
            to=to,
            message_id=message_id,
            context=context,
        )
        try:
            await self._sender.send(message)
        except MailRejected as err:
            raise ApplicationError(str(err), type="MailRejected", non_retryable=True) from err
        async with self._pool.acquire() as conn:
            await OutboxRepository(conn).mark_sent(journey_id=request.journey_id, step=request.step)
        return NotificationResult(message_id=message_id)
