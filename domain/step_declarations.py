"""Every step a person (or the clinic) takes on a journey, each declared once.

A declaration says what a step is called, who may take it, what it takes (its body), the
workflow update it sends and the model of its argument, the record stored before it, and where
the JSON API serves it. From these the API's routes, the console's and the patient page's forms,
the authorization (`api/authorization.py`) and the workflows' role checks derive, so adding a
step is its declaration here, its handler and check in the workflow, its form fields and its
words.

Free text never enters a workflow: what a person writes is stored first (the step's `record`)
and the update carries its id.
"""

from dataclasses import dataclass
from enum import StrEnum

from pydantic import BaseModel

from domain import step_bodies as bodies
from domain import steps
from domain.actors import Role


class StepName(StrEnum):
    """Every step a person (or the clinic) takes on a journey."""

    REVIEW = "review"
    DOCUMENTS = "documents"
    CASE_MANAGER = "case_manager"
    BOOK_CONSULT = "book_consult"
    RESCHEDULE_CONSULT = "reschedule_consult"
    CONSULT_OUTCOME = "consult_outcome"
    NO_SHOW = "no_show"
    PLAN_DECISION = "plan_decision"
    TRAVEL = "travel"
    CLINIC_CONFIRMATION = "clinic_confirmation"
    CHANGE_TRAVEL = "change_travel"
    PARTNER_CONFIRMATION = "partner_confirmation"
    ADMISSION = "admission"
    PROCEDURE = "procedure"
    DISCHARGE = "discharge"
    ADVERSE_EVENT = "adverse_event"
    WITHDRAW = "withdraw"
    FOLLOW_UP_OUTCOME = "follow_up_outcome"
    REHAB_CHECKIN = "rehab_checkin"
    REHAB_FOLLOW_UP = "rehab_follow_up"
    BOOK_FOLLOW_UP = "book_follow_up"
    RESCHEDULE_FOLLOW_UP = "reschedule_follow_up"
    FOLLOW_UP_NO_SHOW = "follow_up_no_show"
    RESOLVE_INCIDENT = "resolve_incident"
    CORRECT_CONTACT = "correct_contact"
    RENEW_PATIENT_LINK = "renew_patient_link"
    WITHDRAW_CONSENT = "withdraw_consent"
    REQUEST_ERASURE = "request_erasure"
    ERASE = "erase"
    LEGAL_HOLD = "legal_hold"
    EXPORT = "export"
    READ_ACCESSES = "read_accesses"


class StepRecord(StrEnum):
    """What a step stores in PostgreSQL before it is sent; the update carries its id."""

    DOCUMENT = "document"
    PLAN = "plan"
    TRAVEL = "travel"
    TRAVEL_CHANGE = "travel_change"
    PARTNER_CONFIRMATION = "partner_confirmation"
    PROCEDURE_REPORT = "procedure_report"
    ADVERSE_EVENT = "adverse_event"
    FOLLOW_UP_OUTCOME = "follow_up_outcome"
    REHAB_CHECKIN = "rehab_checkin"
    REHAB_FOLLOW_UP = "rehab_follow_up"


class Workflow(StrEnum):
    """Which of a journey's workflows takes the step's update."""

    JOURNEY = "journey"
    FOLLOW_UP = "follow_up"


# The patient's own steps, which a coordinator may also take for them (by phone or email).
PATIENT_SIDE = frozenset({Role.PATIENT, Role.COORDINATOR})
# The clinic reports its events through the webhook; a coordinator records them for clinics
# that report by email or phone.
CLINIC_SIDE = frozenset({Role.CLINIC, Role.COORDINATOR})


@dataclass(frozen=True)
class StepDeclaration:
    """One step. `update` and `argument` are the workflow's update and its input model (None
    for an action on the journey's records that no workflow takes); `body` is what a person
    sends for it (None: nothing but the click); `record` is stored first and its id goes into
    the argument's `record_field`. `path` is the JSON API's route under
    `/api/v1/journeys/{journey_id}` (None: served elsewhere), `tag` its OpenAPI group; a path
    with `{number}` names a follow-up consult, which goes into the argument's `consult_no`.
    `console` says whether staff take it from a form on the console's case page (the patient's
    plan decision is hers alone, and privacy steps have pages of their own)."""

    name: StepName
    roles: frozenset[Role]
    summary: str
    path: str | None = None
    tag: str = "steps"
    body: type[BaseModel] | None = None
    update: str | None = None
    argument: type[BaseModel] | None = None
    workflow: Workflow = Workflow.JOURNEY
    record: StepRecord | None = None
    record_field: str | None = None
    console: bool = True

    def may_take(self, role: Role) -> bool:
        return role in self.roles


def _declare(*declarations: StepDeclaration) -> dict[StepName, StepDeclaration]:
    declared = {d.name: d for d in declarations}
    assert set(declared) == set(StepName), set(StepName) - set(declared)
    return declared


STEPS: dict[StepName, StepDeclaration] = _declare(
    StepDeclaration(
        StepName.REVIEW,
        frozenset({Role.REVIEWER, Role.MEDICAL_LEAD}),
        "Review a case (reviewer)",
        path="/review",
        body=bodies.ReviewBody,
        update="review",
        argument=steps.ReviewDecision,
    ),
    StepDeclaration(
        StepName.DOCUMENTS,
        PATIENT_SIDE,
        "Upload documents (patient link, coordinator)",
        path="/documents",
        update="documents_received",
        argument=steps.DocumentsReceived,
        record=StepRecord.DOCUMENT,
        record_field="document_ids",
    ),
    StepDeclaration(
        StepName.CASE_MANAGER,
        frozenset({Role.COORDINATOR}),
        "Assign or reassign the case manager (coordinator)",
        path="/case-manager",
        body=bodies.CaseManagerBody,
        update="assign_case_manager",
        argument=steps.CaseManagerAssignment,
    ),
    StepDeclaration(
        StepName.BOOK_CONSULT,
        PATIENT_SIDE,
        "Book an offered consultation slot",
        path="/consult/booking",
        body=bodies.SlotChoiceBody,
        update="book_consult",
        argument=steps.SlotBooking,
    ),
    StepDeclaration(
        StepName.RESCHEDULE_CONSULT,
        PATIENT_SIDE,
        "Ask for another consultation time",
        path="/consult/reschedule",
        update="reschedule_consult",
        argument=steps.RescheduleRequest,
    ),
    StepDeclaration(
        StepName.CONSULT_OUTCOME,
        frozenset({Role.SPECIALIST}),
        "Record the consultation outcome and plan (specialist)",
        path="/consult/outcome",
        body=bodies.ConsultOutcomeBody,
        update="consult_outcome",
        argument=steps.ConsultOutcome,
        record=StepRecord.PLAN,
        record_field="plan_id",
    ),
    StepDeclaration(
        StepName.NO_SHOW,
        frozenset({Role.SPECIALIST}),
        "The patient did not attend (specialist)",
        path="/consult/no-show",
        update="consult_no_show",
        argument=steps.NoShow,
    ),
    StepDeclaration(
        StepName.PLAN_DECISION,
        frozenset({Role.PATIENT}),
        "Accept or decline the plan (patient link)",
        path="/plan/decision",
        body=bodies.PlanDecisionBody,
        update="plan_decision",
        argument=steps.PlanDecision,
        console=False,
    ),
    StepDeclaration(
        StepName.TRAVEL,
        PATIENT_SIDE,
        "Send the travel details",
        path="/travel",
        body=bodies.TravelBody,
        update="travel_details",
        argument=steps.TravelDetails,
        record=StepRecord.TRAVEL,
        record_field="travel_record_id",
    ),
    StepDeclaration(
        StepName.CLINIC_CONFIRMATION,
        frozenset({Role.COORDINATOR}),
        "Record the clinic's answer to a visit request sent by email (coordinator)",
        path="/clinic/confirmation",
        body=bodies.ClinicConfirmationBody,
        update="clinic_confirmation",
        argument=steps.ClinicConfirmation,
    ),
    StepDeclaration(
        StepName.CHANGE_TRAVEL,
        PATIENT_SIDE,
        "Change the travel dates: the visit, hotel and transfer are booked again",
        path="/travel/change",
        body=bodies.TravelBody,
        update="change_travel",
        argument=steps.TravelChange,
        record=StepRecord.TRAVEL_CHANGE,
        record_field="travel_record_id",
    ),
    # A coordinator records a partner's answer from its email or call; the partner itself
    # confirms through the signed link its request email carries (api/routes/partner_links.py).
    StepDeclaration(
        StepName.PARTNER_CONFIRMATION,
        frozenset({Role.COORDINATOR, Role.PARTNER}),
        "Record a hotel's or transfer partner's confirmation (coordinator, partner link)",
        path="/partners/confirmation",
        body=bodies.PartnerConfirmationBody,
        update="partner_confirmation",
        argument=steps.PartnerConfirmation,
        record=StepRecord.PARTNER_CONFIRMATION,
        record_field="confirmation_id",
    ),
    StepDeclaration(
        StepName.ADMISSION,
        CLINIC_SIDE,
        "Record the clinic's admission (coordinator)",
        path="/clinic/admission",
        tag="clinic",
        update="clinic_admission",
        argument=steps.Admission,
    ),
    StepDeclaration(
        StepName.PROCEDURE,
        CLINIC_SIDE,
        "Record the procedure: cells, route, minutes, lot (coordinator)",
        path="/clinic/procedure",
        tag="clinic",
        body=bodies.ClinicProcedure,
        update="procedure_report",
        argument=steps.ProcedureReported,
        record=StepRecord.PROCEDURE_REPORT,
        record_field="report_id",
    ),
    StepDeclaration(
        StepName.DISCHARGE,
        CLINIC_SIDE,
        "Record the clinic's discharge (coordinator)",
        path="/clinic/discharge",
        tag="clinic",
        update="clinic_discharge",
        argument=steps.Discharge,
    ),
    StepDeclaration(
        StepName.ADVERSE_EVENT,
        frozenset({Role.CLINIC, Role.COORDINATOR, Role.SPECIALIST, Role.CASE_MANAGER}),
        "Report an adverse event (coordinator, specialist, case manager)",
        path="/clinic/adverse-events",
        tag="clinic",
        body=bodies.ClinicAdverseEvent,
        update="adverse_event",
        argument=steps.AdverseEventReported,
        record=StepRecord.ADVERSE_EVENT,
        record_field="event_id",
    ),
    StepDeclaration(
        StepName.WITHDRAW,
        PATIENT_SIDE,
        "Withdraw from the journey (patient link, coordinator)",
        path="/withdrawal",
        body=bodies.WithdrawalBody,
        update="withdraw",
        argument=steps.Withdrawal,
    ),
    StepDeclaration(
        StepName.FOLLOW_UP_OUTCOME,
        frozenset({Role.SPECIALIST}),
        "Record a follow-up consult (specialist)",
        path="/follow-ups/{number}/outcome",
        tag="follow-up",
        body=bodies.FollowUpOutcomeBody,
        update="record_outcome",
        argument=steps.FollowUpOutcome,
        workflow=Workflow.FOLLOW_UP,
        record=StepRecord.FOLLOW_UP_OUTCOME,
        record_field="outcome_id",
    ),
    StepDeclaration(
        StepName.REHAB_CHECKIN,
        # A case manager following up a missed week by phone records the patient's answer.
        frozenset({Role.PATIENT, Role.CASE_MANAGER}),
        "Weekly rehabilitation check-in (patient link; a case manager for the patient)",
        path="/rehab-checkins",
        tag="follow-up",
        body=bodies.RehabCheckinBody,
        update="rehab_checkin",
        argument=steps.RehabCheckin,
        workflow=Workflow.FOLLOW_UP,
        record=StepRecord.REHAB_CHECKIN,
        record_field="checkin_id",
    ),
    # A coordinator stands in for a case manager who is away.
    StepDeclaration(
        StepName.REHAB_FOLLOW_UP,
        frozenset({Role.CASE_MANAGER, Role.COORDINATOR}),
        "Record what was agreed with a patient whose rehabilitation fell behind (case manager)",
        path="/rehab-follow-up",
        tag="follow-up",
        body=bodies.RehabFollowUpBody,
        update="rehab_follow_up",
        argument=steps.RehabFollowUpRecorded,
        workflow=Workflow.FOLLOW_UP,
        record=StepRecord.REHAB_FOLLOW_UP,
        record_field="record_id",
    ),
    StepDeclaration(
        StepName.BOOK_FOLLOW_UP,
        PATIENT_SIDE,
        "Book one of the times offered for a follow-up consult",
        path="/follow-ups/{number}/booking",
        tag="follow-up",
        body=bodies.SlotChoiceBody,
        update="book_follow_up",
        argument=steps.FollowUpBooking,
        workflow=Workflow.FOLLOW_UP,
    ),
    StepDeclaration(
        StepName.RESCHEDULE_FOLLOW_UP,
        PATIENT_SIDE,
        "Ask for other times for a follow-up consult",
        path="/follow-ups/{number}/reschedule",
        tag="follow-up",
        update="reschedule_follow_up",
        argument=steps.FollowUpReschedule,
        workflow=Workflow.FOLLOW_UP,
    ),
    StepDeclaration(
        StepName.FOLLOW_UP_NO_SHOW,
        frozenset({Role.SPECIALIST}),
        "The patient did not attend a follow-up consult (specialist)",
        path="/follow-ups/{number}/no-show",
        tag="follow-up",
        update="follow_up_no_show",
        argument=steps.FollowUpNoShow,
        workflow=Workflow.FOLLOW_UP,
    ),
    StepDeclaration(
        StepName.RESOLVE_INCIDENT,
        frozenset({Role.COORDINATOR}),
        "Resolve the journey's open incident: retry, skip or withdraw (coordinator)",
        path="/incident/resolution",
        tag="incidents",
        body=bodies.IncidentResolutionBody,
        update="resolve_incident",
        argument=steps.IncidentResolution,
    ),
    StepDeclaration(
        StepName.CORRECT_CONTACT,
        frozenset({Role.COORDINATOR}),
        "Correct the patient's email or phone (coordinator)",
        path="/contact",
        tag="incidents",
        body=bodies.ContactBody,
    ),
    # Revoking a journey's patient links and emailing a new one: an action on the journey
    # that only a coordinator takes, not a step of the workflow.
    StepDeclaration(
        StepName.RENEW_PATIENT_LINK,
        frozenset({Role.COORDINATOR}),
        "Revoke the patient's links and email a new one (coordinator)",
        console=False,
    ),
    # A coordinator takes the patient's word by phone or letter, as for a withdrawal.
    StepDeclaration(
        StepName.WITHDRAW_CONSENT,
        PATIENT_SIDE,
        "Withdraw consent to the processing of health data (patient link, coordinator)",
        tag="privacy",
        console=False,
    ),
    # Coordinators ask for an erasure; only a privacy officer carries it out, after weighing
    # it against the law's retention duties and any legal hold.
    StepDeclaration(
        StepName.REQUEST_ERASURE,
        frozenset({Role.COORDINATOR, Role.PRIVACY_OFFICER}),
        "Ask a privacy officer to erase the journey's personal data",
        tag="privacy",
        console=False,
    ),
    StepDeclaration(
        StepName.ERASE,
        frozenset({Role.PRIVACY_OFFICER}),
        "Erase the journey's personal data (privacy officer)",
        tag="privacy",
        console=False,
    ),
    StepDeclaration(
        StepName.LEGAL_HOLD,
        frozenset({Role.PRIVACY_OFFICER}),
        "Place or lift a legal hold (privacy officer)",
        tag="privacy",
        console=False,
    ),
    # The patient's own copy of their data (GDPR Art. 15 and 20), or a privacy officer
    # answering their request.
    StepDeclaration(
        StepName.EXPORT,
        frozenset({Role.PATIENT, Role.PRIVACY_OFFICER}),
        "Export the patient's data",
        tag="privacy",
        console=False,
    ),
    # Who saw the patient's data: the privacy officer answers the patient, auditors check.
    StepDeclaration(
        StepName.READ_ACCESSES,
        frozenset({Role.PRIVACY_OFFICER, Role.AUDITOR}),
        "Who read the patient's data",
        tag="privacy",
        console=False,
    ),
)

# Who may take which step, for the workflows' validators (which import no more than this).
STEP_ROLES: dict[StepName, frozenset[Role]] = {name: d.roles for name, d in STEPS.items()}

# A withdrawal with one of these reasons is that step's, not the plain withdrawal's: the
# consent withdrawal also marks the consent, the erasure withdraws before it erases.
WITHDRAWAL_STEPS: dict[steps.WithdrawalReason, StepName] = {
    steps.WithdrawalReason.CONSENT_WITHDRAWN: StepName.WITHDRAW_CONSENT,
    steps.WithdrawalReason.DATA_ERASURE: StepName.ERASE,
}


def withdrawal_step(reason: steps.WithdrawalReason) -> StepName:
    """The step whose roles may withdraw a journey for `reason`."""
    return WITHDRAWAL_STEPS.get(reason, StepName.WITHDRAW)


def may_take(role: Role, step: StepName) -> bool:
    return STEPS[step].may_take(role)
