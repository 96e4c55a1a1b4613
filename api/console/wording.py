"""The console's words for coded values (stages, whom a journey waits on, what for, incident
kinds, document kinds, causes) and its one sentence of what a journey waits for, in the
reader's language. The texts are catalogue messages with a context, looked up where read."""

import functools
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime

from domain.incidents import IncidentAction, IncidentKind
from domain.overview import BreachKind
from domain.reasons import EndingReason
from domain.records import BookingKind
from domain.refusals import Refusal, RefusalCode
from domain.rehab import RehabOutcome, RehabReason
from domain.stages import Stage, Task, WaitingOn
from domain.steps import WithdrawalReason
from i18n import format_day, format_elapsed, format_moment, translations


def _pgettext(language: str) -> Callable[[str, str], str]:
    """The catalogue's `pgettext` for `language`, typed as text; named so that extraction
    finds the messages below."""
    catalogue = translations(language)

    def pgettext(context: str, message: str) -> str:
        return str(catalogue.pgettext(context, message))

    return pgettext


@functools.cache
def _stages(language: str) -> dict[str, str]:
    pgettext = _pgettext(language)
    return {
        Stage.INQUIRY: pgettext("stage", "Inquiry"),
        Stage.VALIDATION: pgettext("stage", "Validation"),
        Stage.CASE_MANAGER: pgettext("stage", "Case manager"),
        Stage.TELECONSULT: pgettext("stage", "Teleconsultation"),
        Stage.PLAN: pgettext("stage", "Plan"),
        Stage.TRAVEL: pgettext("stage", "Travel"),
        Stage.TREATMENT: pgettext("stage", "Treatment"),
        Stage.FOLLOW_UP: pgettext("stage", "Follow-up"),
        Stage.COMPLETED: pgettext("stage", "Completed"),
        Stage.NOT_ELIGIBLE: pgettext("stage", "Not eligible"),
        Stage.WITHDRAWN: pgettext("stage", "Withdrawn"),
        Stage.LOST_CONTACT: pgettext("stage", "Lost contact"),
    }


@functools.cache
def _waiting_on(language: str) -> dict[str, str]:
    pgettext = _pgettext(language)
    return {
        WaitingOn.PATIENT: pgettext("waiting on", "Patient"),
        WaitingOn.REVIEWER: pgettext("waiting on", "Reviewer"),
        WaitingOn.SPECIALIST: pgettext("waiting on", "Specialist"),
        WaitingOn.CLINIC: pgettext("waiting on", "Clinic"),
        WaitingOn.COORDINATOR: pgettext("waiting on", "Coordinator"),
        WaitingOn.CASE_MANAGER: pgettext("waiting on", "Case manager"),
        WaitingOn.NONE: pgettext("waiting on", "Nobody"),
    }


@functools.cache
def _waiting_who(language: str) -> dict[str, str]:
    """Whom a journey waits on, as the sentence "Waiting … to …" names them."""
    pgettext = _pgettext(language)
    return {
        WaitingOn.PATIENT: pgettext("waiting sentence", "on the patient"),
        WaitingOn.REVIEWER: pgettext("waiting sentence", "on a medical reviewer"),
        WaitingOn.SPECIALIST: pgettext("waiting sentence", "on the specialist"),
        WaitingOn.CLINIC: pgettext("waiting sentence", "on the clinic"),
        WaitingOn.COORDINATOR: pgettext("waiting sentence", "on a coordinator"),
        WaitingOn.CASE_MANAGER: pgettext("waiting sentence", "on the case manager"),
    }


# What the journey is waiting for, by the status's coded `task`; an ended journey is worded
# by its ending instead (`Task.COMPLETED`, `WITHDRAWN`, `CLOSED` have no words here).
@functools.cache
def _tasks(language: str) -> dict[str, str]:
    pgettext = _pgettext(language)
    return {
        Task.RECORD_INQUIRY: pgettext("waiting for", "recording the inquiry"),
        Task.REVIEW_CASE: pgettext("waiting for", "to review the case"),
        Task.SEND_DOCUMENTS: pgettext("waiting for", "to send the requested documents"),
        Task.ASSIGNING_CASE_MANAGER: pgettext("waiting for", "assigning a case manager"),
        Task.ASSIGN_CASE_MANAGER: pgettext("waiting for", "to assign a case manager"),
        Task.CHOOSE_SLOT: pgettext("waiting for", "to choose a consultation slot"),
        Task.HOLD_CONSULT: pgettext(
            "waiting for", "to hold the consultation and record its outcome"
        ),
        Task.DECIDE_PLAN: pgettext("waiting for", "to accept or decline the treatment plan"),
        Task.SEND_TRAVEL_DETAILS: pgettext("waiting for", "to send the travel details"),
        Task.RESERVE_VISIT: pgettext(
            "waiting for", "reserving the clinic visit, hotel and transfer"
        ),
        Task.RECORD_CLINIC_ANSWER: pgettext(
            "waiting for", "to record the clinic's answer to the visit request"
        ),
        Task.TRAVEL_TO_CLINIC: pgettext("waiting for", "to travel to the clinic"),
        Task.CHANGE_TRAVEL: pgettext(
            "waiting for", "re-booking the clinic visit, hotel and transfer for new dates"
        ),
        Task.REPORT_ADMISSION: pgettext("waiting for", "to report the admission"),
        Task.CHASE_ADMISSION: pgettext(
            "waiting for", "to find out why the clinic has not reported the admission"
        ),
        Task.REPORT_PROCEDURE: pgettext("waiting for", "to report the procedure"),
        Task.REPORT_DISCHARGE: pgettext("waiting for", "to report the discharge"),
        Task.FOLLOW_UP_YEAR: pgettext(
            "waiting for", "for the follow-up year (consults and weekly check-ins)"
        ),
        Task.FOLLOW_UP_REHABILITATION: pgettext(
            "waiting for", "to follow up the rehabilitation and record what was agreed"
        ),
    }


# Why the journey refused a member of staff's step, by the refusal's code; `%(name)s` is one
# of its parameters, worded by `Wording.refusal`.
@functools.cache
def _refusals(language: str) -> dict[str, str]:
    pgettext = _pgettext(language)
    return {
        RefusalCode.ROLE_NOT_ALLOWED: pgettext("refusal", "Your role does not take this step."),
        RefusalCode.JOURNEY_ENDED: pgettext(
            "refusal", "The journey has ended (%(stage)s): it no longer takes this step."
        ),
        RefusalCode.WRONG_STAGE: pgettext(
            "refusal",
            "This step belongs to the stage %(expected_stage)s; the journey is at %(stage)s.",
        ),
        RefusalCode.NOT_EXPECTED_NOW: pgettext(
            "refusal",
            "The journey does not expect this step now; it is waiting on: %(waiting_on)s.",
        ),
        RefusalCode.ALREADY_REVIEWED: pgettext("refusal", "This case has already been reviewed."),
        RefusalCode.CASE_NOT_VALIDATED: pgettext(
            "refusal", "A case manager is assigned once the case is validated."
        ),
        RefusalCode.ALREADY_CASE_MANAGER: pgettext(
            "refusal", "%(case_manager_id)s is already the case manager."
        ),
        RefusalCode.CASE_MANAGER_INACTIVE: pgettext(
            "refusal",
            "%(case_manager_id)s is not an active case manager (deactivated in the staff "
            "directory); choose another one.",
        ),
        RefusalCode.SPECIALIST_INACTIVE: pgettext(
            "refusal",
            "The specialist of that slot no longer takes consultations; ask for another "
            "consultation time, and the patient is offered new times.",
        ),
        RefusalCode.SLOT_TAKEN: pgettext("refusal", "A consultation slot has already been chosen."),
        RefusalCode.SLOT_NOT_OFFERED: pgettext(
            "refusal", "That slot was not offered; choose one of the proposed slots."
        ),
        RefusalCode.SLOT_PASSED: pgettext(
            "refusal", "That slot has already passed; choose a later one."
        ),
        RefusalCode.NO_BOOKED_CONSULT: pgettext(
            "refusal", "This step needs a booked consultation."
        ),
        RefusalCode.CONSULT_SETTLED: pgettext(
            "refusal", "This consultation has already been settled."
        ),
        RefusalCode.CONSULT_STARTED: pgettext(
            "refusal", "The consultation has already started; it can no longer be moved."
        ),
        RefusalCode.CONSULT_NOT_STARTED: pgettext(
            "refusal", "This can be recorded once the consultation has started: %(starts_at)s."
        ),
        RefusalCode.PLAN_DECIDED: pgettext("refusal", "The plan has already been decided."),
        RefusalCode.TRAVEL_SENT: pgettext("refusal", "The travel details have already been sent."),
        RefusalCode.ARRIVAL_NOT_FUTURE: pgettext(
            "refusal", "The arrival date must be in the future."
        ),
        RefusalCode.DEPARTURE_TOO_SOON: pgettext(
            "refusal",
            "The departure must be at least three days after the arrival: a day to rest, then "
            "the two visit days.",
        ),
        RefusalCode.NO_VISIT_REQUEST: pgettext(
            "refusal", "No visit request is waiting for the clinic's answer."
        ),
        RefusalCode.TRAVEL_NOT_BOOKED: pgettext(
            "refusal",
            "The dates can be changed once the visit, hotel and transfer are booked.",
        ),
        RefusalCode.TRAVEL_CHANGE_UNDER_WAY: pgettext(
            "refusal", "A change of dates is already under way."
        ),
        RefusalCode.TRAVEL_CHANGE_CLOSED: pgettext(
            "refusal",
            "The dates could be changed until %(cutoff_at)s; the case manager arranges a "
            "change now.",
        ),
        RefusalCode.ARRIVAL_TOO_SOON: pgettext(
            "refusal",
            "The new arrival must be on %(earliest_arrival)s or later, for the clinic, hotel "
            "and transfer to be booked again in time.",
        ),
        RefusalCode.SAME_TRAVEL_DATES: pgettext("refusal", "These are the dates already booked."),
        RefusalCode.NO_PARTNER_REQUEST: pgettext(
            "refusal", "No hotel or transfer request of this journey waits for this confirmation."
        ),
        RefusalCode.PARTNER_CONFIRMED: pgettext("refusal", "This request is already confirmed."),
        RefusalCode.PARTNER_LINK_USED: pgettext(
            "refusal", "This confirmation link has been used already."
        ),
        RefusalCode.PARTNER_LINK_OTHER_JOURNEY: pgettext(
            "refusal", "This confirmation link belongs to another journey."
        ),
        RefusalCode.ADMISSION_REPORTED: pgettext(
            "refusal", "The admission has already been reported."
        ),
        RefusalCode.ADMISSION_MISSING: pgettext(
            "refusal", "The procedure comes after the admission, which is not reported yet."
        ),
        RefusalCode.PROCEDURE_REPORTED: pgettext(
            "refusal", "The procedure has already been reported."
        ),
        RefusalCode.PROCEDURE_MISSING: pgettext(
            "refusal", "The discharge comes after the procedure, which is not reported yet."
        ),
        RefusalCode.DISCHARGE_REPORTED: pgettext(
            "refusal", "The discharge has already been reported."
        ),
        RefusalCode.ADVERSE_EVENT_TOO_EARLY: pgettext(
            "refusal", "Adverse events are reported from the treatment visit on."
        ),
        RefusalCode.ADVERSE_EVENT_REPORTED: pgettext(
            "refusal", "This adverse event has already been reported."
        ),
        RefusalCode.WITHDRAWAL_UNDER_WAY: pgettext(
            "refusal", "The journey is already being withdrawn."
        ),
        RefusalCode.NO_OPEN_INCIDENT: pgettext("refusal", "There is no open incident to resolve."),
        RefusalCode.INCIDENT_SUPERSEDED: pgettext(
            "refusal",
            "Incident %(incident_number)s is no longer open; incident %(open_incident)s is.",
        ),
        RefusalCode.ACTION_NOT_OFFERED: pgettext(
            "refusal", "This incident cannot be resolved by %(action)s; it offers: %(actions)s."
        ),
        RefusalCode.FOLLOW_UP_NOT_STARTED: pgettext(
            "refusal", "The follow-up year has not started."
        ),
        RefusalCode.NO_SUCH_FOLLOW_UP: pgettext(
            "refusal", "The follow-up consults are numbered 1 to %(consults)s."
        ),
        RefusalCode.FOLLOW_UP_NOT_DUE: pgettext(
            "refusal", "Follow-up consult %(consult_no)s can be recorded from %(opens_at)s."
        ),
        RefusalCode.FOLLOW_UP_RECORDED: pgettext(
            "refusal", "The outcome of follow-up consult %(consult_no)s is already recorded."
        ),
        RefusalCode.FOLLOW_UP_NOT_OFFERED: pgettext(
            "refusal", "Times for follow-up consult %(consult_no)s are offered from %(opens_at)s."
        ),
        RefusalCode.FOLLOW_UP_BOOKING_CLOSED: pgettext(
            "refusal",
            "Follow-up consult %(consult_no)s is not being booked now: its case manager "
            "arranges it.",
        ),
        RefusalCode.SLOT_GONE: pgettext(
            "refusal", "That time was taken meanwhile; choose another of the times offered."
        ),
        RefusalCode.NO_SUCH_REHAB_WEEK: pgettext(
            "refusal", "Rehabilitation check-ins run for %(weeks)s weeks."
        ),
        RefusalCode.REHAB_WEEK_NOT_STARTED: pgettext(
            "refusal", "Week %(week)s of rehabilitation has not started yet."
        ),
        RefusalCode.CHECKIN_RECEIVED: pgettext(
            "refusal", "The check-in for week %(week)s was already received."
        ),
        RefusalCode.NO_REHAB_FOLLOW_UP: pgettext(
            "refusal", "No rehabilitation follow-up is waiting for the case manager."
        ),
        RefusalCode.REHAB_FOLLOW_UP_SUPERSEDED: pgettext(
            "refusal",
            "Rehabilitation follow-up %(follow_up_no)s is no longer open; follow-up "
            "%(open_follow_up)s is. The page shows it now.",
        ),
        RefusalCode.SCORE_OUT_OF_RANGE: pgettext(
            "refusal", "Enter %(scale)s as a whole number from %(low)s to %(high)s."
        ),
        RefusalCode.SCALE_MISSING: pgettext(
            "refusal", "Every follow-up outcome records %(scale)s."
        ),
        RefusalCode.CASE_CLAIMED: pgettext(
            "refusal",
            "%(claimed_by)s has claimed this case since %(claimed_at)s, so only they can "
            "review it: nothing was changed. Their claim lapses at %(lapses_at)s unless they "
            "keep it; the medical lead can take it over.",
        ),
        RefusalCode.INCIDENT_CLAIMED: pgettext(
            "refusal",
            "%(claimed_by)s has claimed this incident since %(claimed_at)s, so only they can "
            "resolve it: nothing was changed. Their claim lapses at %(lapses_at)s unless they "
            "keep it.",
        ),
        RefusalCode.NOT_CLAIMED: pgettext(
            "refusal", "Nobody holds a claim here now, so there is none to take over."
        ),
        RefusalCode.NOT_YOUR_CLAIM: pgettext(
            "refusal", "You hold no claim here now, so there is none to release."
        ),
    }


@functools.cache
def _bookings(language: str) -> dict[str, str]:
    pgettext = _pgettext(language)
    return {
        BookingKind.CONSULT: pgettext("booking", "Video consultation"),
        BookingKind.CLINIC_VISIT: pgettext("booking", "Clinic visit"),
        BookingKind.HOTEL: pgettext("booking", "Hotel"),
        BookingKind.TRANSFER: pgettext("booking", "Airport transfers"),
    }


# The journey's updates, as the timeline names them (audit/timeline.py: the update's name with
# spaces), and the console step each one is.
_TIMELINE_STEPS = {
    "review": "review",
    "documents received": "documents",
    "assign case manager": "case_manager",
    "book consult": "book_consult",
    "reschedule consult": "reschedule_consult",
    "consult outcome": "consult_outcome",
    "consult no show": "no_show",
    "travel details": "travel",
    "clinic confirmation": "clinic_confirmation",
    "change travel": "change_travel",
    "partner confirmation": "partner_confirmation",
    "clinic admission": "admission",
    "procedure report": "procedure",
    "clinic discharge": "discharge",
    "adverse event": "adverse_event",
    "withdraw": "withdraw",
    "resolve incident": "resolve_incident",
    "record outcome": "follow_up_outcome",
    "rehab checkin": "rehab_checkin",
    "rehab follow up": "rehab_follow_up",
    "book follow up": "book_follow_up",
    "reschedule follow up": "reschedule_follow_up",
    "follow up no show": "follow_up_no_show",
}


@functools.cache
def _timeline(language: str) -> dict[str, str]:
    """The timeline's own phrases, and the outcomes its steps record."""
    pgettext = _pgettext(language)
    return {
        "inquiry submitted": pgettext("timeline", "Inquiry sent"),
        "case manager assigned by language and load": pgettext(
            "timeline", "Case manager assigned by language and load"
        ),
        "plan decision": pgettext("timeline", "Decision on the treatment plan"),
        "booking cancelled": pgettext("timeline", "Booking cancelled"),
        "outcome:approve": pgettext("timeline outcome", "approved"),
        "outcome:reject": pgettext("timeline outcome", "rejected"),
        "outcome:request_documents": pgettext("timeline outcome", "documents asked for"),
        "outcome:eligible": pgettext("timeline outcome", "eligible"),
        "outcome:not eligible": pgettext("timeline outcome", "not eligible"),
        "outcome:accepted": pgettext("timeline outcome", "accepted"),
        "outcome:declined": pgettext("timeline outcome", "declined"),
        "outcome:confirmed": pgettext("timeline outcome", "confirmed"),
        "outcome:refused": pgettext("timeline outcome", "refused"),
    }


@functools.cache
def _incidents(language: str) -> dict[str, str]:
    pgettext = _pgettext(language)
    return {
        IncidentKind.EMAIL_REFUSED: pgettext("incident", "Email refused"),
        IncidentKind.EMAIL_NO_ADDRESS: pgettext("incident", "No email address"),
        IncidentKind.EMAIL_UNAVAILABLE: pgettext("incident", "Mail server down"),
        IncidentKind.VISA_LETTER_UNPRINTABLE: pgettext("incident", "Visa letter unprintable"),
        IncidentKind.CALENDAR_UNAVAILABLE: pgettext("incident", "Calendar server down"),
        IncidentKind.CLINIC_REFUSED: pgettext("incident", "Clinic refused"),
        IncidentKind.CLINIC_UNAVAILABLE: pgettext("incident", "Clinic system down"),
        IncidentKind.NO_SPECIALIST: pgettext("incident", "No specialist"),
        IncidentKind.RECORD_MISSING: pgettext("incident", "Record missing"),
        IncidentKind.RECORDS_UNAVAILABLE: pgettext("incident", "Records database down"),
        IncidentKind.PARTNER_UNCONFIRMED: pgettext("incident", "Partner has not confirmed"),
        IncidentKind.TRAVEL_CHANGE_FAILED: pgettext("incident", "New travel dates not booked"),
    }


@functools.cache
def _actions(language: str) -> dict[str, str]:
    pgettext = _pgettext(language)
    return {
        IncidentAction.RETRY: pgettext("incident action", "retry"),
        IncidentAction.SKIP: pgettext("incident action", "skip"),
        IncidentAction.WITHDRAW: pgettext("incident action", "withdraw"),
    }


@functools.cache
def _codes(language: str) -> dict[str, str]:
    """Document kinds, injury causes and completeness, adverse event severities."""
    pgettext = _pgettext(language)
    return {
        "document:mri": pgettext("document", "MRI of the spine"),
        "document:asia_exam": pgettext("document", "ASIA/ISNCSCI examination"),
        "document:discharge_summary": pgettext("document", "Hospital discharge summary"),
        "document:other": pgettext("document", "Other medical records"),
        "cause:traffic": pgettext("injury cause", "Traffic accident"),
        "cause:fall": pgettext("injury cause", "Fall"),
        "cause:sports": pgettext("injury cause", "Sports or diving accident"),
        "cause:violence": pgettext("injury cause", "Violence"),
        "cause:medical": pgettext("injury cause", "Illness or surgery"),
        "cause:other": pgettext("injury cause", "Other"),
        "completeness:complete": pgettext("injury", "Complete"),
        "completeness:incomplete": pgettext("injury", "Incomplete"),
        "severity:mild": pgettext("severity", "Mild"),
        "severity:moderate": pgettext("severity", "Moderate"),
        "severity:severe": pgettext("severity", "Severe"),
        "severity:life_threatening": pgettext("severity", "Life-threatening"),
    }


@functools.cache
def _steps(language: str) -> dict[str, str]:
    """Each step's name, as its form's heading and its confirmation say it."""
    pgettext = _pgettext(language)
    return {
        "review": pgettext("step", "Review the case"),
        "documents": pgettext("step", "Upload documents for the patient"),
        "case_manager": pgettext("step", "Assign the case manager"),
        "book_consult": pgettext("step", "Book a consultation slot for the patient"),
        "reschedule_consult": pgettext("step", "Reschedule the consultation"),
        "consult_outcome": pgettext("step", "Record the consultation outcome"),
        "no_show": pgettext("step", "The patient did not attend"),
        "travel": pgettext("step", "Send the travel details for the patient"),
        "clinic_confirmation": pgettext("step", "Record the clinic's answer"),
        "change_travel": pgettext("step", "Change the travel dates for the patient"),
        "partner_confirmation": pgettext("step", "Record a partner's confirmation"),
        "admission": pgettext("step", "Record the admission"),
        "procedure": pgettext("step", "Record the procedure"),
        "discharge": pgettext("step", "Record the discharge"),
        "adverse_event": pgettext("step", "Report an adverse event"),
        "withdraw": pgettext("step", "Withdraw the journey"),
        "resolve_incident": pgettext("step", "Resolve the incident"),
        "correct_contact": pgettext("step", "Correct the patient's contact details"),
        "follow_up_outcome": pgettext("step", "Record a follow-up consult"),
        "rehab_checkin": pgettext("step", "Record a rehabilitation check-in"),
        "rehab_follow_up": pgettext("step", "Record the rehabilitation follow-up"),
        "book_follow_up": pgettext("step", "Book a follow-up consult for the patient"),
        "reschedule_follow_up": pgettext("step", "Offer other times for a follow-up consult"),
        "follow_up_no_show": pgettext("step", "The patient did not attend a follow-up consult"),
    }


@functools.cache
def _reasons(language: str) -> dict[str, str]:
    """Coded reasons a member of staff chooses from: a rejection's, a withdrawal's."""
    pgettext = _pgettext(language)
    return {
        "rejection:injury_too_recent": pgettext("rejection", "The injury is too recent"),
        "rejection:contraindication": pgettext("rejection", "A medical contraindication"),
        "rejection:insufficient_information": pgettext(
            "rejection", "The medical information is not sufficient"
        ),
        "rejection:out_of_scope": pgettext("rejection", "Outside the scope of the treatment"),
        "rejection:other": pgettext("rejection", "Another reason"),
        "withdrawal:patient_request": pgettext("withdrawal", "At the patient's request"),
        "withdrawal:financial": pgettext("withdrawal", "Financial reasons"),
        "withdrawal:health_change": pgettext("withdrawal", "A change in health"),
        "withdrawal:other_treatment": pgettext("withdrawal", "Another treatment was chosen"),
        "withdrawal:other": pgettext("withdrawal", "Another reason"),
    }


@functools.cache
def _endings(language: str) -> dict[str, str]:
    """Why a journey ended, for the codes a person does not choose from a form: the journey's
    own endings, and withdrawals that the consent and erasure steps make."""
    pgettext = _pgettext(language)
    return {
        EndingReason.NO_DOCUMENTS: pgettext("ending", "The requested documents did not arrive"),
        EndingReason.NO_SLOT_CHOSEN: pgettext("ending", "No consultation time was chosen"),
        EndingReason.NO_SHOWS: pgettext("ending", "Two consultations were missed"),
        EndingReason.QUOTE_EXPIRED: pgettext("ending", "The quote expired"),
        EndingReason.NO_TRAVEL_DETAILS: pgettext("ending", "The travel details did not arrive"),
        EndingReason.NO_VISIT_DATES: pgettext(
            "ending", "No visit dates could be agreed with the clinic"
        ),
        EndingReason.PLAN_DECLINED: pgettext("ending", "The treatment plan was declined"),
        WithdrawalReason.CONSENT_WITHDRAWN: pgettext("ending", "Consent was withdrawn"),
        WithdrawalReason.DATA_ERASURE: pgettext("ending", "The patient's data was erased"),
    }


@functools.cache
def _follow_up_year(language: str) -> dict[str, str]:
    """The scales of the outcomes, the weeks of rehabilitation against the rule of six, and
    the rehabilitation follow-ups: why one opened, what the case manager recorded."""
    pgettext = _pgettext(language)
    return {
        "scale:ais_grade": pgettext("scale", "the ASIA Impairment Scale grade"),
        "scale:neurological_level": pgettext("scale", "the neurological level of injury"),
        "scale:uems": pgettext("scale", "the upper extremity motor score (UEMS)"),
        "scale:lems": pgettext("scale", "the lower extremity motor score (LEMS)"),
        "scale:light_touch": pgettext("scale", "the light touch score"),
        "scale:pin_prick": pgettext("scale", "the pin prick score"),
        "scale:scim_total": pgettext("scale", "the SCIM III total"),
        "legend:uems": pgettext("chart legend", "Upper extremity motor score (UEMS)"),
        "legend:lems": pgettext("chart legend", "Lower extremity motor score (LEMS)"),
        "legend:light_touch": pgettext("chart legend", "Light touch"),
        "legend:pin_prick": pgettext("chart legend", "Pin prick"),
        "legend:scim_total": pgettext("chart legend", "SCIM III total"),
        "trend:motor": pgettext("chart", "ISNCSCI motor scores at each follow-up consult"),
        "trend:sensory": pgettext("chart", "ISNCSCI sensory scores at each follow-up consult"),
        "trend:scim": pgettext("chart", "SCIM III total at each follow-up consult"),
        "week:met": pgettext("rule of six", "Met"),
        "week:short": pgettext("rule of six", "Short"),
        "week:missing": pgettext("rule of six", "Missing after its reminder"),
        "week:open": pgettext("rule of six", "Not judged yet"),
        "outcome:plan_adjusted": pgettext("rehab outcome", "The plan was adjusted"),
        "outcome:obstacle_solved": pgettext("rehab outcome", "An obstacle was solved"),
        "outcome:medical_review": pgettext("rehab outcome", "Referred for medical review"),
        "outcome:back_on_plan": pgettext("rehab outcome", "Back on the plan"),
        "outcome:not_reached": pgettext("rehab outcome", "The patient could not be reached"),
    }


@functools.cache
def _breaches(language: str) -> dict[str, str]:
    pgettext = _pgettext(language)
    return {
        BreachKind.REVIEW_SLA: pgettext("missed deadline", "Review not given in time"),
        BreachKind.ADMISSION_OVERDUE: pgettext("missed deadline", "Admission not reported"),
        BreachKind.FOLLOW_UP_OVERDUE: pgettext("missed deadline", "Follow-up not recorded"),
    }


class Wording:
    """Coded values as a reader of `language` reads them; an unknown code reads as itself."""

    def __init__(self, language: str) -> None:
        self.language = language
        catalogue = translations(language)
        self._gettext: Callable[[str], str] = lambda message: str(catalogue.gettext(message))

    def stage(self, stage: str) -> str:
        return _stages(self.language).get(stage, stage)

    def waiting_on(self, waiting_on: str) -> str:
        return _waiting_on(self.language).get(waiting_on, waiting_on)

    def task(self, task: str) -> str:
        return _tasks(self.language).get(task, task)

    def refusal(self, refusal: Refusal, tz: str, names: Mapping[str, str] | None = None) -> str:
        """Why the journey refused a step, with what the refusal names; times in `tz`, and
        members of staff by their names in `names` (by staff id), else by their ids."""
        params = refusal.params
        named = names or {}
        values: dict[str, object] = {
            "stage": self.stage(params.stage) if params.stage else "",
            "expected_stage": self.stage(params.expected_stage) if params.expected_stage else "",
            "waiting_on": self.waiting_on(params.waiting_on) if params.waiting_on else "",
            "case_manager_id": params.case_manager_id or "",
            "starts_at": format_moment(params.starts_at, self.language, tz),
            "opens_at": format_day(params.opens_at, self.language, tz),
            "cutoff_at": format_moment(params.cutoff_at, self.language, tz),
            "earliest_arrival": format_day(params.earliest_arrival, self.language, tz),
            "consult_no": params.consult_no or "",
            "consults": params.consults or "",
            "week": params.week or "",
            "weeks": params.weeks or "",
            "incident_number": params.incident_number or "",
            "open_incident": params.open_incident or "",
            "follow_up_no": params.follow_up_no or "",
            "open_follow_up": params.open_follow_up or "",
            "scale": self.scale(params.scale) if params.scale else "",
            "low": params.low if params.low is not None else "",
            "high": params.high if params.high is not None else "",
            "action": self.incident_action(params.action) if params.action else "",
            "actions": ", ".join(self.incident_action(a) for a in params.actions or ()),
            "claimed_by": named.get(params.claimed_by or "", params.claimed_by or ""),
            "claimed_at": format_moment(params.claimed_at, self.language, tz),
            "lapses_at": format_moment(params.lapses_at, self.language, tz),
        }
        return _refusals(self.language)[refusal.code] % values

    def booking(self, kind: str) -> str:
        return _bookings(self.language).get(kind, kind)

    def timeline(self, kind: str, what: str) -> str:
        """A timeline row's "what" (audit/timeline.py words it in codes, for the auditors'
        command) as this reader reads it; a row the console has no words for reads as itself."""
        pgettext = _pgettext(self.language)
        phrases = _timeline(self.language)
        if kind == "stage":
            stage, _, waiting = what.partition(", waiting on ")
            who = _waiting_who(self.language).get(waiting)
            if who is None:
                return self.stage(stage)
            # Translators: a stage of the journey and on whom it waits then, such as
            # "Teleconsultation, waiting on the patient".
            return pgettext("timeline", "%(stage)s, waiting %(who)s") % {
                "stage": self.stage(stage),
                "who": who,
            }
        if kind == "booking" and what.endswith(" booked"):
            booking = what.removesuffix(" booked").replace(" ", "_")
            if booking in _bookings(self.language):
                return pgettext("timeline", "%(booking)s booked") % {
                    "booking": self.booking(booking)
                }
            return what
        if kind != "step" and kind != "cancellation":
            return what
        if what in phrases:
            return phrases[what]
        name, colon, outcome = what.partition(": ")
        number = ""
        if not colon and name.rpartition(" ")[2].isdigit():
            name, _, number = name.rpartition(" ")
        step = _TIMELINE_STEPS.get(name)
        named = self.step(step) if step else phrases.get(name)
        if named is None:
            return what
        if colon:
            return f"{named}: {phrases.get(f'outcome:{outcome}', outcome)}"
        return f"{named} {number}" if number else named

    def incident(self, kind: str) -> str:
        return _incidents(self.language).get(kind, kind)

    def incident_action(self, action: str) -> str:
        return _actions(self.language).get(action, action)

    def document_kind(self, kind: str) -> str:
        return _codes(self.language).get(f"document:{kind}", kind)

    def cause(self, cause: str) -> str:
        return _codes(self.language).get(f"cause:{cause}", cause)

    def completeness(self, completeness: str) -> str:
        return _codes(self.language).get(f"completeness:{completeness}", completeness)

    def severity(self, severity: str) -> str:
        return _codes(self.language).get(f"severity:{severity}", severity)

    def step(self, step: str) -> str:
        return _steps(self.language).get(step, step)

    def rejection(self, reason: str) -> str:
        return _reasons(self.language).get(f"rejection:{reason}", reason)

    def withdrawal(self, reason: str) -> str:
        return _reasons(self.language).get(f"withdrawal:{reason}", reason)

    def ending_reason(self, stage: str, reason: str | None) -> str | None:
        """Why a journey ended in `stage`, or None when no reason was recorded (a completion,
        or an ending from before endings recorded their reason)."""
        if reason is None:
            return None
        if stage == Stage.NOT_ELIGIBLE:
            return self.rejection(reason)
        return _endings(self.language).get(reason) or self.withdrawal(reason)

    def outcome(self, stage: str, reason: str | None) -> str:
        """An ending as the overview names it: the final stage, and why where it is known."""
        pgettext = _pgettext(self.language)
        why = self.ending_reason(stage, reason)
        if why is not None:
            # Translators: a final stage and why journeys ended there, such as "Withdrawn:
            # Financial reasons".
            return pgettext("outcome", "%(stage)s: %(reason)s") % {
                "stage": self.stage(stage),
                "reason": why,
            }
        if stage == Stage.COMPLETED:
            return self.stage(stage)
        return pgettext("outcome", "%(stage)s: reason not recorded") % {"stage": self.stage(stage)}

    def median_and_p90(self, median: str, p90: str) -> str:
        """A stage's two durations beside its bars in a chart."""
        pgettext = _pgettext(self.language)
        # Translators: beside a chart's bars; both are short durations, such as "2d and 4h".
        text = pgettext("chart", "median %(median)s, 90th percentile %(p90)s")
        return text % {"median": median, "p90": p90}

    def scale(self, field: str) -> str:
        """A follow-up outcome's field, as a refusal names it ("the light touch score")."""
        return _follow_up_year(self.language).get(f"scale:{field}", field)

    def scale_legend(self, series: list[str]) -> list[tuple[str, str]]:
        """A trend chart's legend: each series' colour class and name."""
        words = _follow_up_year(self.language)
        return [(s, words.get(f"legend:{s}", s)) for s in series]

    def trend_title(self, key: str) -> str:
        return _follow_up_year(self.language).get(f"trend:{key}", key)

    def week_result(self, result: str | None) -> str:
        """A week against the rule of six; None for a week not judged yet."""
        return _follow_up_year(self.language).get(f"week:{result or 'open'}", str(result))

    def rehab_outcome(self, outcome: str) -> str:
        return _follow_up_year(self.language).get(f"outcome:{outcome}", outcome)

    def rehab_outcomes(self) -> list[tuple[str, str]]:
        """What a case manager may record, for the follow-up's form."""
        return [(o.value, self.rehab_outcome(o)) for o in RehabOutcome]

    def rehab_follow_up(self, reason: str, weeks: Sequence[int]) -> str:
        """Why the year put the patient before their case manager, naming the weeks."""
        pgettext = _pgettext(self.language)
        listed = ", ".join(str(w) for w in weeks)
        if reason == RehabReason.SHORT_WEEKS:
            return pgettext("rehab follow-up", "Weeks %(weeks)s fell short of the rule of six.") % {
                "weeks": listed
            }
        return pgettext(
            "rehab follow-up", "The check-in of week %(weeks)s is missing after its reminder."
        ) % {"weeks": listed}

    def breach(self, kind: str) -> str:
        return _breaches(self.language).get(kind, kind)

    def waiting_sentence(
        self,
        *,
        stage: Stage,
        waiting_on: WaitingOn,
        task: Task | None,
        deadline: datetime | None,
        incident: IncidentKind | None,
        now: datetime,
        tz: str,
    ) -> str:
        """What the journey waits for, from whom and until when, in one sentence."""
        gettext, stage_name = self._gettext, self.stage(stage)
        if incident is not None:
            return gettext(
                "%(stage)s: held by an incident (%(incident)s); waiting on a coordinator to "
                "resolve it."
            ) % {"stage": stage_name, "incident": self.incident(incident)}
        if stage.is_final:
            return gettext("This journey has ended: %(stage)s.") % {"stage": stage_name}
        who = _waiting_who(self.language).get(waiting_on)
        if who is None:
            if not task:
                return stage_name
            return gettext("%(stage)s: %(task)s.") % {
                "stage": stage_name,
                "task": self.task(task),
            }
        # The journey's own phrase for what it waits for, when it answered; what PostgreSQL
        # knows says only whom, so the phrase is then left out.
        values = {"stage": stage_name, "who": who, "task": f" {self.task(task)}" if task else ""}
        if deadline is None:
            # Translators: %(task)s is empty or starts with a space, such as " to review
            # the case"; write it against the word before it.
            return gettext("%(stage)s: waiting %(who)s%(task)s.") % values
        values["deadline"] = format_moment(deadline, self.language, tz)
        if deadline < now:
            values["elapsed"] = format_elapsed(now - deadline, self.language)
            # Translators: %(task)s as above; %(elapsed)s is how long ago the deadline
            # passed, such as "3 days".
            late = gettext("%(stage)s: waiting %(who)s%(task)s by %(deadline)s, %(elapsed)s late.")
            return late % values
        # Translators: %(task)s as above; %(deadline)s is a date and time with its zone.
        return gettext("%(stage)s: waiting %(who)s%(task)s by %(deadline)s.") % values
