"""Journey emails through SMTP, sent at most once per journey step as far as SMTP allows.

The outbox row for (journey, step) is written before sending and marked sent after. A retry
finds the mark and sends nothing. The one window left: a crash after the SMTP server accepted
the message and before the mark is written sends it again on retry, with the same Message-ID,
which lets mail clients and most servers drop the copy.
"""

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from email.message import EmailMessage
from email.utils import parseaddr
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.bookings import booking_uid
from activities.failures import final, redact
from activities.messages import MessageComposer
from activities.wording import (
    day,
    document_name,
    follow_up_label,
    incident_sentence,
    reason_text,
)
from db.notification_context import JourneyFacts, load_journey_facts
from db.outbox import OutboxRepository
from db.patient_links import PatientLinkRepository
from db.staff import StaffRepository
from domain.clinic_hours import CLINIC_TIME_ZONE, clinic_days_later
from domain.errors import ActivityFailure
from domain.metrics import EmailOutcome
from domain.names import case_page_url
from domain.notifications import (
    Audience,
    NotificationKind,
    NotificationRequest,
    NotificationResult,
)
from i18n import (
    SOURCE_LANGUAGE,
    format_clinic_moment,
    format_money,
    format_two_zone_moment,
    resolve_first,
    translations,
)
from integrations.calendar import ConsultEvent, invite
from integrations.mail import MailRefused, MailRejected, MailSender, MailUnavailable
from integrations.visa_letter import UnsupportedCharacters, VisaLetter, render_visa_letter
from observability.activity_metrics import email_done

log = logging.getLogger(__name__)

# The partner emails that carry the link confirming their booking, and the booking's kind.
PARTNER_LINKS = {
    NotificationKind.HOTEL_REQUEST: "hotel",
    NotificationKind.HOTEL_REMINDER: "hotel",
    NotificationKind.TRANSFER_REQUEST: "transfer",
    NotificationKind.TRANSFER_REMINDER: "transfer",
}

# Which emails carry an iCalendar part, and with which iTIP method.
INVITE_METHODS = {
    NotificationKind.BOOKING_CONFIRMATION: "REQUEST",
    NotificationKind.CONSULT_REMINDER: "REQUEST",
    NotificationKind.CONSULT_CANCELLED: "CANCEL",
    NotificationKind.NO_SHOW_NOTICE: "CANCEL",
    NotificationKind.FOLLOW_UP_BOOKED: "REQUEST",
    NotificationKind.FOLLOW_UP_MISSED: "CANCEL",
}


def message_id_domain(mail_from: str) -> str:
    """The domain that names Message-IDs: the sender address's."""
    return parseaddr(mail_from)[1].rpartition("@")[2] or "journeys.localhost"


def message_id_for(journey_id: str, step: str, domain: str) -> str:
    """A stable Message-ID: the same journey step always yields the same id."""
    return f"<{journey_id}.{step}@{domain}>"


@dataclass(frozen=True)
class PatientLinkFor:
    """Whose link a patient email carries: the journey's current link generation, and the
    language the email is written in (the page refusing an old link speaks it)."""

    journey_id: str
    patient_id: str
    generation: int
    language: str


@dataclass(frozen=True)
class Partners:
    """Addresses and facts of the people and partners outside the patient record.

    The coordinators' and the medical lead's addresses are role mailboxes, not people: the
    language of each is set with it, since whoever reads a shared mailbox is not in the staff
    directory as its holder."""

    coordinators: str
    medical_lead: str
    hotel: str
    transfer: str
    clinic_name: str
    clinic_address: str
    video_link_base: str
    public_base_url: str
    clinic_email: str = ""
    coordinators_language: str = SOURCE_LANGUAGE
    medical_lead_language: str = SOURCE_LANGUAGE
    # The visit is given on the clinic's clock (and the patient's, where it shows another time).
    clinic_time_zone: str = CLINIC_TIME_ZONE


class EmailActivities:
    """Renders and sends journey notifications; the SMTP client is handed in."""

    def __init__(
        self,
        *,
        sender: MailSender,
        pool: asyncpg.Pool,
        composer: MessageComposer,
        partners: Partners,
        message_id_domain: str,
        patient_link: Callable[[PatientLinkFor], str] | None = None,
        partner_link: Callable[[str, str], str] | None = None,
    ) -> None:
        """`patient_link(PatientLinkFor(…))` gives the signed link patient emails carry;
        `partner_link(journey_id, booking_id)` the one a partner confirms a request with."""
        self._sender = sender
        self._pool = pool
        self._composer = composer
        self._partners = partners
        self._domain = message_id_domain
        self._patient_link = patient_link
        self._partner_link = partner_link

    @activity.defn(name="send_notification")
    async def send_notification(self, request: NotificationRequest) -> NotificationResult:
        message_id = message_id_for(request.journey_id, request.step, self._domain)
        async with self._pool.acquire() as conn:
            claim = await OutboxRepository(conn).claim(
                journey_id=request.journey_id,
                step=request.step,
                kind=request.kind.value,
                audience=request.audience.value,
                message_id=message_id,
            )
            if claim.status == "sent":
                return NotificationResult(message_id=message_id, already_sent=True)
            facts = await load_journey_facts(
                conn,
                request.journey_id,
                follow_up_no=_number(request.facts.get("follow_up_no")),
                slot_round=_number(request.facts.get("slot_round")),
                booking_id=request.facts.get("booking_id") or None,
            )
            if facts is None:
                email_done(request.kind, EmailOutcome.NO_ADDRESS)
                raise final(
                    ActivityFailure.RECIPIENT_NOT_FOUND,
                    f"journey {request.journey_id} has no records",
                )
            to, language = await self._recipient(conn, request.audience, facts)
            # A link must carry its journey's current generation, or the page refuses it.
            link_generation = (
                await PatientLinkRepository(conn).generation(request.journey_id)
                if request.audience is Audience.PATIENT and self._patient_link
                else 0
            )
        if not to:
            email_done(request.kind, EmailOutcome.NO_ADDRESS)
            raise final(
                ActivityFailure.RECIPIENT_NOT_FOUND,
                f"no address for the {request.audience.value} of journey {request.journey_id}",
            )
        message = self._composer.compose(
            kind=request.kind.value,
            language=language,
            to=to,
            message_id=message_id,
            context=self._context(request, facts, language, link_generation),
            reply_to=facts.case_manager_email or None
            if request.audience is Audience.PATIENT
            else None,
        )
        self._attach(message, request, facts)
        if request.kind is NotificationKind.VISA_LETTER:
            self._attach_visa_letter(message, request, facts, claim.first_attempt_on)
        if message["Content-Language"] is None:
            # An attachment wraps the text in multipart/mixed and takes the Content-* headers
            # into the wrapped part; the message as a whole still says its language.
            message["Content-Language"] = self._composer.language_for(language)
        try:
            await self._sender.send(message)
        except MailRefused as err:
            rejected = isinstance(err, MailRejected)
            email_done(request.kind, EmailOutcome.REFUSED if rejected else EmailOutcome.DEFERRED)
            # What the server said can echo the address: it goes to the log, redacted, with
            # the step's ids; the recorded failure carries the reply codes only.
            log.warning(
                "mail server refused email %s of journey %s: %s",
                request.step,
                request.journey_id,
                redact(err.reply),
            )
            raise ApplicationError(
                str(err),
                type=ActivityFailure.MAIL_REJECTED if rejected else ActivityFailure.MAIL_DEFERRED,
                non_retryable=rejected,
            ) from None
        except MailUnavailable as err:
            email_done(request.kind, EmailOutcome.UNAVAILABLE)
            log.warning(
                "mail server unavailable for email %s of journey %s: %s",
                request.step,
                request.journey_id,
                redact(err.reply),
            )
            raise ApplicationError(str(err), type=ActivityFailure.MAIL_UNAVAILABLE) from None
        async with self._pool.acquire() as conn:
            await OutboxRepository(conn).mark_sent(journey_id=request.journey_id, step=request.step)
        email_done(request.kind, EmailOutcome.SENT)
        log.info("email %s sent (%s)", request.step, request.kind.value)
        return NotificationResult(message_id=message_id)

    def _attach_visa_letter(
        self,
        message: EmailMessage,
        request: NotificationRequest,
        facts: JourneyFacts,
        issued_on: date,
    ) -> None:
        """The consulate's invitation letter, as a PDF made from the records."""
        if facts.visit_start is None or facts.visit_end is None:
            raise final(
                ActivityFailure.VISA_LETTER_EARLY,
                "the visit is not reserved yet",
            )
        # The days of the visit are the clinic's, where the letter invites the patient to.
        clinic = ZoneInfo(self._partners.clinic_time_zone)
        visit_day1 = facts.visit_start.astimezone(clinic).date()
        visit_day2 = facts.visit_end.astimezone(clinic).date()
        arrival = facts.arrival_date or visit_day1
        departure = facts.departure_date or visit_day2
        try:
            pdf = render_visa_letter(
                VisaLetter(
                    reference=request.journey_id.split("-", 1)[0].upper(),
                    issued_on=issued_on,
                    clinic_name=self._partners.clinic_name,
                    clinic_address=self._partners.clinic_address,
                    clinic_contact=self._partners.clinic_email or self._partners.coordinators,
                    patient_full_name=facts.patient_name,
                    patient_country=facts.country,
                    arrival_date=arrival,
                    departure_date=departure,
                    visit_day1=visit_day1,
                    visit_day2=visit_day2,
                    companions=facts.companions,
                    language=facts.language,
                )
            )
        except UnsupportedCharacters:
            raise final(
                ActivityFailure.VISA_LETTER_UNSUPPORTED,
                "the letter's font cannot print the patient's name; send the letter by hand",
            ) from None
        message.add_attachment(
            pdf, maintype="application", subtype="pdf", filename="visa-invitation-letter.pdf"
        )

    def _attach(
        self, message: EmailMessage, request: NotificationRequest, facts: JourneyFacts
    ) -> None:
        """Calendar invitations and cancellations travel with the consult emails."""
        method = INVITE_METHODS.get(request.kind)
        if method is None or facts.consult_at is None or facts.consult_end is None:
            return
        uid = booking_uid(facts.consult_booking_id)
        # The invitation is the patient's, in the patient's language, as its email is.
        words = translations(facts.language)
        reference = request.journey_id.split("-", 1)[0].upper()
        summary = (
            words.gettext("Follow-up video consultation with your specialist")
            if request.facts.get("follow_up_no")
            else words.gettext("Video consultation with your specialist")
        )
        event = ConsultEvent(
            uid=uid,
            start=facts.consult_at,
            end=facts.consult_end,
            summary=summary,
            description=words.gettext("Reference %(reference)s") % {"reference": reference},
            video_link=f"{self._partners.video_link_base}/{uid}",
        )
        ics = invite(
            event,
            method=method,
            organizer=facts.specialist_email or self._partners.coordinators,
            attendee=facts.patient_email,
            sequence=1 if method == "CANCEL" else 0,
        )
        message.add_attachment(
            ics,
            maintype="text",
            subtype="calendar",
            filename="consultation.ics",
            params={"method": method},
        )

    async def _recipient(
        self, conn: asyncpg.Connection, audience: Audience, facts: JourneyFacts
    ) -> tuple[str, str]:
        """The address and the language of an email: the patient's; a member of staff's, in
        the first language of theirs a catalogue has; a role mailbox's, as set; a partner's,
        in English. Where a person has no address the coordinators' mailbox stands in, in its
        own language."""
        p = self._partners
        coordinators = p.coordinators, p.coordinators_language
        match audience:
            case Audience.PATIENT:
                return facts.patient_email, facts.language
            case Audience.CASE_MANAGER if facts.case_manager_email:
                return facts.case_manager_email, resolve_first(facts.case_manager_languages)
            case Audience.SPECIALIST if facts.specialist_email:
                return facts.specialist_email, resolve_first(facts.specialist_languages)
            case Audience.MEDICAL_LEAD:
                lead = await StaffRepository(conn).first_with_role(role="medical_lead")
                if lead is None:
                    return p.medical_lead, p.medical_lead_language
                return lead.email, resolve_first(lead.languages)
            # Partners outside the organisation are written to in English.
            case Audience.HOTEL_PARTNER:
                return p.hotel, SOURCE_LANGUAGE
            case Audience.TRANSFER_PARTNER:
                return p.transfer, SOURCE_LANGUAGE
            case Audience.CLINIC if p.clinic_email:
                return p.clinic_email, SOURCE_LANGUAGE
            case _:
                return coordinators

    def _context(
        self,
        request: NotificationRequest,
        facts: JourneyFacts,
        language: str,
        link_generation: int = 0,
    ) -> dict[str, Any]:
        p, f = self._partners, request.facts
        patient = request.audience is Audience.PATIENT
        lang = self._composer.language_for(language)
        # Staff read times in UTC; the patient in their own time zone. The visit is the
        # clinic's: on its clock, and for the patient on theirs too where it differs.
        tz = facts.time_zone if patient else "UTC"
        clinic_tz = p.clinic_time_zone

        def at_clinic(value: datetime | None) -> str:
            return format_clinic_moment(value, lang, clinic_tz, tz if patient else None)

        def consult_moment(value: datetime | None) -> str:
            # A consultation is with the specialist: the patient reads their clock too, where
            # it shows another time.
            other = facts.specialist_time_zone if patient else None
            return format_two_zone_moment(value, lang, tz, other)

        day2_start = (
            clinic_days_later(facts.visit_start, 1, clinic_tz) if facts.visit_start else None
        )
        # Staff and partner emails get no patient name: they travel outside the record system.
        return {
            "name": facts.patient_name if patient else "",
            "reference": request.journey_id.split("-", 1)[0].upper(),
            "journey_id": request.journey_id,
            # Staff open the case in the console, where they can read it and act.
            "journey_url": case_page_url(p.public_base_url, request.journey_id),
            "patient_url": self._patient_link(
                PatientLinkFor(
                    journey_id=request.journey_id,
                    patient_id=facts.patient_id,
                    generation=link_generation,
                    language=lang,
                )
            )
            if patient and self._patient_link
            else "",
            "case_manager_name": facts.case_manager_name,
            "case_manager_email": facts.case_manager_email,
            "slots": [consult_moment(s) for s in facts.slots],
            "consult_at": consult_moment(facts.consult_at),
            "video_link": f"{p.video_link_base}/{facts.consult_booking_id.replace(':', '-')}"
            if facts.consult_booking_id
            else "",
            # The amount and its currency as the reader's language writes them: 24.500,00 €.
            "plan_price": format_money(facts.plan_amount, facts.plan_currency, lang)
            if facts.plan_amount is not None and facts.plan_currency
            else facts.plan_price,
            "plan_currency": facts.plan_currency,
            "quote_valid_until": day(f.get("quote_valid_until"), lang),
            "documents": [document_name(d, lang) for d in f.get("documents", "").split(",") if d],
            "arrival_date": day(facts.stay_start, lang),
            "departure_date": day(facts.stay_end, lang),
            "visit_day1": day(facts.visit_start, lang, clinic_tz),
            "visit_day2": day(facts.visit_end, lang, clinic_tz),
            "visit_day1_at": at_clinic(facts.visit_start),
            "visit_day2_at": at_clinic(day2_start),
            "clinic_name": p.clinic_name,
            "clinic_address": p.clinic_address,
            "follow_up_no": f.get("follow_up_no", ""),
            "follow_up_label": follow_up_label(f.get("follow_up_no", ""), lang),
            "follow_up_at": day(f.get("follow_up_at"), lang),
            "checkin_week": f.get("checkin_week", ""),
            "rehab_reason": f.get("rehab_reason", ""),
            "weeks": f.get("weeks", ""),
            "due_at": day(f.get("due_at"), lang),
            "reason": reason_text(f.get("reason", ""), lang),
            "count": f.get("count", ""),
            "deadline": f.get("deadline", ""),
            # A deadline of the patient's: on their clock alone.
            "choose_by": format_two_zone_moment(_moment(f.get("choose_by")), lang, tz, None),
            "reminder": f.get("reminder", ""),
            # How a follow-up consult's booking ended (`missed`, `not_booked`), and whether a
            # missed one is offered again.
            "why": f.get("why", ""),
            "again": f.get("again", ""),
            "incident": f.get("incident", ""),
            "incident_no": f.get("incident_no", ""),
            "incident_sentence": incident_sentence(f.get("incident", ""), lang),
            # A cancellation because the dates changed, not because the patient withdrew.
            "dates_changed": bool(f.get("change")),
            # A visit asked for new dates, cancelled because the change did not go ahead.
            "change_undone": bool(f.get("undone")),
            "partner_url": self._partner_url(request, facts),
        }

    def _partner_url(self, request: NotificationRequest, facts: JourneyFacts) -> str:
        """The link a partner's request or reminder carries to confirm its booking: the one
        the email is about, else the one of its kind that stands now."""
        kind = PARTNER_LINKS.get(request.kind)
        if kind is None or self._partner_link is None:
            return ""
        booking_id = facts.booking_id or (facts.hotel_id if kind == "hotel" else facts.transfer_id)
        return self._partner_link(request.journey_id, booking_id) if booking_id else ""


def _number(value: str | None) -> int | None:
    """A number among an email's facts (a follow-up consult's, a round's); None when absent."""
    return int(value) if value and value.isdigit() else None


def _moment(value: str | None) -> datetime | None:
    """A moment among an email's facts, written in ISO 8601."""
    return datetime.fromisoformat(value) if value else None
