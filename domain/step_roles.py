"""Who may take which step: the one table the API's authorization and the workflows'
validators both read, so the two cannot drift apart, and the staff screens show each person
only the actions their role may take."""

from enum import StrEnum

from domain.actors import Role
from domain.steps import WithdrawalReason


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
    ADMISSION = "admission"
    PROCEDURE = "procedure"
    DISCHARGE = "discharge"
    ADVERSE_EVENT = "adverse_event"
    WITHDRAW = "withdraw"
    FOLLOW_UP_OUTCOME = "follow_up_outcome"
    REHAB_CHECKIN = "rehab_checkin"
    RESOLVE_INCIDENT = "resolve_incident"
    CORRECT_CONTACT = "correct_contact"
    RENEW_PATIENT_LINK = "renew_patient_link"
    WITHDRAW_CONSENT = "withdraw_consent"
    REQUEST_ERASURE = "request_erasure"
    ERASE = "erase"
    LEGAL_HOLD = "legal_hold"
    EXPORT = "export"
    READ_ACCESSES = "read_accesses"


# The patient's own steps, which a coordinator may also take for them (by phone or email).
PATIENT_SIDE = frozenset({Role.PATIENT, Role.COORDINATOR})
# The clinic reports its events through the webhook; a coordinator records them for clinics
# that report by email or phone.
CLINIC_SIDE = frozenset({Role.CLINIC, Role.COORDINATOR})

STEP_ROLES: dict[StepName, frozenset[Role]] = {
    StepName.REVIEW: frozenset({Role.REVIEWER, Role.MEDICAL_LEAD}),
    StepName.DOCUMENTS: PATIENT_SIDE,
    StepName.CASE_MANAGER: frozenset({Role.COORDINATOR}),
    StepName.BOOK_CONSULT: PATIENT_SIDE,
    StepName.RESCHEDULE_CONSULT: PATIENT_SIDE,
    StepName.CONSULT_OUTCOME: frozenset({Role.SPECIALIST}),
    StepName.NO_SHOW: frozenset({Role.SPECIALIST}),
    StepName.PLAN_DECISION: frozenset({Role.PATIENT}),
    StepName.TRAVEL: PATIENT_SIDE,
    StepName.CLINIC_CONFIRMATION: frozenset({Role.COORDINATOR}),
    StepName.ADMISSION: CLINIC_SIDE,
    StepName.PROCEDURE: CLINIC_SIDE,
    StepName.DISCHARGE: CLINIC_SIDE,
    StepName.ADVERSE_EVENT: frozenset(
        {Role.CLINIC, Role.COORDINATOR, Role.SPECIALIST, Role.CASE_MANAGER}
    ),
    StepName.WITHDRAW: PATIENT_SIDE,
    StepName.FOLLOW_UP_OUTCOME: frozenset({Role.SPECIALIST}),
    # A case manager following up a missed week by phone records the patient's answer.
    StepName.REHAB_CHECKIN: frozenset({Role.PATIENT, Role.CASE_MANAGER}),
    StepName.RESOLVE_INCIDENT: frozenset({Role.COORDINATOR}),
    StepName.CORRECT_CONTACT: frozenset({Role.COORDINATOR}),
    # Revoking a journey's patient links and emailing a new one: not a step of the workflow,
    # but an action on the journey that only a coordinator takes.
    StepName.RENEW_PATIENT_LINK: frozenset({Role.COORDINATOR}),
    # A coordinator takes the patient's word by phone or letter, as for a withdrawal.
    StepName.WITHDRAW_CONSENT: PATIENT_SIDE,
    # Coordinators ask for an erasure; only a privacy officer carries it out, after weighing
    # it against the law's retention duties and any legal hold.
    StepName.REQUEST_ERASURE: frozenset({Role.COORDINATOR, Role.PRIVACY_OFFICER}),
    StepName.ERASE: frozenset({Role.PRIVACY_OFFICER}),
    StepName.LEGAL_HOLD: frozenset({Role.PRIVACY_OFFICER}),
    # The patient's own copy of their data (GDPR Art. 15 and 20), or a privacy officer
    # answering their request.
    StepName.EXPORT: frozenset({Role.PATIENT, Role.PRIVACY_OFFICER}),
    # Who saw the patient's data: the privacy officer answers the patient, auditors check.
    StepName.READ_ACCESSES: frozenset({Role.PRIVACY_OFFICER, Role.AUDITOR}),
}

# A withdrawal with one of these reasons is that step's, not the plain withdrawal's: the
# consent withdrawal also marks the consent, the erasure withdraws before it erases.
WITHDRAWAL_STEPS: dict[WithdrawalReason, StepName] = {
    WithdrawalReason.CONSENT_WITHDRAWN: StepName.WITHDRAW_CONSENT,
    WithdrawalReason.DATA_ERASURE: StepName.ERASE,
}


def withdrawal_step(reason: WithdrawalReason) -> StepName:
    """The step whose roles may withdraw a journey for `reason`."""
    return WITHDRAWAL_STEPS.get(reason, StepName.WITHDRAW)


def may_take(role: Role, step: StepName) -> bool:
    return role in STEP_ROLES[step]
