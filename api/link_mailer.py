"""The email with a patient's fresh link, sent by the API when a coordinator revokes the
journey's links.

The API sends it itself, through the same SMTP relay, templates and outbox as the worker's
email activity, rather than asking the journey to: revoking links is not a step of the journey,
so its workflow and histories stay as they are (no new update, no patch), nothing about the
patient crosses Temporal, and the coordinator learns in the answer whether the email left. The
outbox row (journey, `patient-link-<generation>`) sends each generation's email once; a failed
send answers 503 (or 502 when the relay refuses the address), and the coordinator asks again.
"""

from activities.email import message_id_domain, message_id_for
from api.mailer import ApiMailer
from api.problems import ProblemError
from db.notification_context import load_journey_facts
from db.outbox import OutboxRepository
from domain.notifications import Audience, NotificationKind
from integrations.mail import MailRefused, MailRejected, MailUnavailable
from patient_links import patient_page_url


class LinkMailer(ApiMailer):
    """Sends a journey's fresh patient link, once per link generation."""

    async def send(self, *, journey_id: str, generation: int) -> str:
        """Email the link of `generation` to the journey's patient; its Message-ID."""
        step = f"patient-link-{generation}"
        domain = message_id_domain(self._settings.mail_from)
        message_id = message_id_for(journey_id, step, domain)
        async with self._pool.acquire() as conn:
            claim = await OutboxRepository(conn).claim(
                journey_id=journey_id,
                step=step,
                kind=NotificationKind.PATIENT_LINK.value,
                audience=Audience.PATIENT.value,
                message_id=message_id,
            )
            if claim.status == "sent":
                return message_id
            facts = await load_journey_facts(conn, journey_id)
        if facts is None or not facts.patient_email:
            raise ProblemError(409, "No address", "the journey's patient has no email address")
        language = self._composer.language_for(facts.language)
        url = patient_page_url(
            self._settings,
            journey_id=journey_id,
            patient_id=facts.patient_id,
            generation=generation,
            language=language,
        )
        message = self._composer.compose(
            kind=NotificationKind.PATIENT_LINK.value,
            language=language,
            to=facts.patient_email,
            message_id=message_id,
            context={
                "name": facts.patient_name,
                "reference": journey_id.split("-", 1)[0].upper(),
                "patient_url": url,
            },
            reply_to=facts.case_manager_email or None,
        )
        try:
            await self._sender.send(message)
        except MailRejected:
            raise ProblemError(
                502,
                "The mail server refused the email",
                "the earlier links are revoked, but the relay refused the patient's address: "
                "correct it (POST …/contact), then send this request again",
            ) from None
        except (MailRefused, MailUnavailable):
            raise ProblemError(
                503,
                "Service unavailable",
                "the earlier links are revoked, but the email with the new link could not be "
                "sent now: send this request again",
                headers={"Retry-After": "60"},
            ) from None
        async with self._pool.acquire() as conn:
            await OutboxRepository(conn).mark_sent(journey_id=journey_id, step=step)
        return message_id
