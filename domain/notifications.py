"""The emails a journey sends, named by kind; their text lives in templates, not here."""

from enum import StrEnum

from pydantic import BaseModel, Field


class NotificationKind(StrEnum):
    # to the patient
    ACKNOWLEDGEMENT = "acknowledgement"
    DOCUMENTS_REQUEST = "documents_request"
    DOCUMENTS_REMINDER = "documents_reminder"
    REJECTION = "rejection"
    CASE_MANAGER_INTRO = "case_manager_intro"
    SLOT_PROPOSALS = "slot_proposals"
    SLOT_REMINDER = "slot_reminder"
    BOOKING_CONFIRMATION = "booking_confirmation"
    CONSULT_REMINDER = "consult_reminder"
    CONSULT_CANCELLED = "consult_cancelled"
    NO_SHOW_NOTICE = "no_show_notice"
    NOT_ELIGIBLE = "not_eligible"
    PLAN_AND_QUOTE = "plan_and_quote"
    PLAN_REMINDER = "plan_reminder"
    TRAVEL_DETAILS_REQUEST = "travel_details_request"
    TRAVEL_DETAILS_REMINDER = "travel_details_reminder"
    VISIT_CONFIRMED = "visit_confirmed"
    VISA_LETTER = "visa_letter"
    TRAVEL_CHECKLIST = "travel_checklist"
    TRAVEL_REMINDER = "travel_reminder"
    TRAVEL_CHANGED = "travel_changed"
    TRAVEL_CHANGE_FAILED = "travel_change_failed"
    CARE_ADVICE = "care_advice"
    FOLLOW_UP_REMINDER = "follow_up_reminder"
    FOLLOW_UP_SLOT_PROPOSALS = "follow_up_slot_proposals"
    FOLLOW_UP_BOOKED = "follow_up_booked"
    FOLLOW_UP_MISSED = "follow_up_missed"
    REHAB_CHECKIN_REMINDER = "rehab_checkin_reminder"
    WITHDRAWAL = "withdrawal"
    LOST_CONTACT = "lost_contact"
    COMPLETION = "completion"
    # sent by the API, not by a journey, when a coordinator replaces the patient's links
    PATIENT_LINK = "patient_link"
    # to staff and partners
    STAFF_NEW_INQUIRY = "staff_new_inquiry"
    REVIEW_ESCALATION = "review_escalation"
    CASE_MANAGER_NEEDED = "case_manager_needed"
    CASE_ASSIGNED = "case_assigned"
    CONSULT_BOOKED_SPECIALIST = "consult_booked_specialist"
    HOTEL_REQUEST = "hotel_request"
    HOTEL_CANCELLATION = "hotel_cancellation"
    TRANSFER_REQUEST = "transfer_request"
    TRANSFER_CANCELLATION = "transfer_cancellation"
    HOTEL_REMINDER = "hotel_reminder"
    TRANSFER_REMINDER = "transfer_reminder"
    TRAVEL_CHANGED_STAFF = "travel_changed_staff"
    TRAVEL_CHANGE_FAILED_STAFF = "travel_change_failed_staff"
    ADMISSION_OVERDUE = "admission_overdue"
    DOSE_ESCALATION = "dose_escalation"
    ADVERSE_EVENT_ESCALATION = "adverse_event_escalation"
    FOLLOW_UP_DUE_SPECIALIST = "follow_up_due_specialist"
    FOLLOW_UP_BOOKED_SPECIALIST = "follow_up_booked_specialist"
    FOLLOW_UP_NOT_BOOKED = "follow_up_not_booked"
    CHECKIN_MISSED = "checkin_missed"
    REHAB_FOLLOW_UP = "rehab_follow_up"
    CLINIC_VISIT_REQUEST = "clinic_visit_request"
    CLINIC_VISIT_CANCELLATION = "clinic_visit_cancellation"
    CLINIC_VISIT_PROBLEM = "clinic_visit_problem"
    INCIDENT_OPENED = "incident_opened"

    @property
    def for_patient(self) -> bool:
        """Written to the patient, in their language; the others go to staff, each in the
        language they work in, and to partners, in English, and never name the patient."""
        return self not in STAFF_KINDS


STAFF_KINDS = frozenset(
    {
        NotificationKind.STAFF_NEW_INQUIRY,
        NotificationKind.REVIEW_ESCALATION,
        NotificationKind.CASE_MANAGER_NEEDED,
        NotificationKind.CASE_ASSIGNED,
        NotificationKind.CONSULT_BOOKED_SPECIALIST,
        NotificationKind.HOTEL_REQUEST,
        NotificationKind.HOTEL_CANCELLATION,
        NotificationKind.TRANSFER_REQUEST,
        NotificationKind.TRANSFER_CANCELLATION,
        NotificationKind.HOTEL_REMINDER,
        NotificationKind.TRANSFER_REMINDER,
        NotificationKind.TRAVEL_CHANGED_STAFF,
        NotificationKind.TRAVEL_CHANGE_FAILED_STAFF,
        NotificationKind.ADMISSION_OVERDUE,
        NotificationKind.DOSE_ESCALATION,
        NotificationKind.ADVERSE_EVENT_ESCALATION,
        NotificationKind.FOLLOW_UP_DUE_SPECIALIST,
        NotificationKind.FOLLOW_UP_BOOKED_SPECIALIST,
        NotificationKind.FOLLOW_UP_NOT_BOOKED,
        NotificationKind.CHECKIN_MISSED,
        NotificationKind.REHAB_FOLLOW_UP,
        NotificationKind.CLINIC_VISIT_REQUEST,
        NotificationKind.CLINIC_VISIT_CANCELLATION,
        NotificationKind.CLINIC_VISIT_PROBLEM,
        NotificationKind.INCIDENT_OPENED,
    }
)


class Audience(StrEnum):
    """Who receives a notification; the activity resolves the address from records/settings."""

    PATIENT = "patient"
    COORDINATORS = "coordinators"
    MEDICAL_LEAD = "medical_lead"
    CASE_MANAGER = "case_manager"
    SPECIALIST = "specialist"
    HOTEL_PARTNER = "hotel_partner"
    TRANSFER_PARTNER = "transfer_partner"
    CLINIC = "clinic"


class NotificationRequest(BaseModel):
    """Send one email of a journey.

    `step` names the journey step the email belongs to; (journey_id, step) is the idempotency
    key, so a retried or replayed activity never sends the same step twice.
    """

    journey_id: str
    step: str = Field(min_length=1, max_length=120)
    kind: NotificationKind
    audience: Audience = Audience.PATIENT
    facts: dict[str, str] = Field(
        default_factory=dict,
        description="coded, non-identifying values for the template (a week number, a count)",
    )


class NotificationResult(BaseModel):
    message_id: str
    already_sent: bool = False
