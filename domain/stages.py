"""Where a journey is and whom it waits on."""

from enum import StrEnum


class Stage(StrEnum):
    """The stages of a journey, in order (the README's "The journey"), then the endings."""

    INQUIRY = "INQUIRY"
    VALIDATION = "VALIDATION"
    CASE_MANAGER = "CASE_MANAGER"
    TELECONSULT = "TELECONSULT"
    PLAN = "PLAN"
    TRAVEL = "TRAVEL"
    TREATMENT = "TREATMENT"
    FOLLOW_UP = "FOLLOW_UP"
    COMPLETED = "COMPLETED"
    NOT_ELIGIBLE = "NOT_ELIGIBLE"
    WITHDRAWN = "WITHDRAWN"
    LOST_CONTACT = "LOST_CONTACT"

    @property
    def is_final(self) -> bool:
        return self in FINAL_STAGES


FINAL_STAGES = frozenset({Stage.COMPLETED, Stage.NOT_ELIGIBLE, Stage.WITHDRAWN, Stage.LOST_CONTACT})


class WaitingOn(StrEnum):
    """Who must act next for the journey to move on."""

    PATIENT = "patient"
    REVIEWER = "reviewer"
    SPECIALIST = "specialist"
    CLINIC = "clinic"
    COORDINATOR = "coordinator"
    # The patient's case manager: a rehabilitation follow-up (domain/rehab.py).
    CASE_MANAGER = "case_manager"
    NONE = "none"


class Task(StrEnum):
    """What the journey waits for (or does) now, coded: each surface words it."""

    RECORD_INQUIRY = "record_inquiry"
    REVIEW_CASE = "review_case"
    SEND_DOCUMENTS = "send_documents"
    ASSIGNING_CASE_MANAGER = "assigning_case_manager"
    ASSIGN_CASE_MANAGER = "assign_case_manager"
    CHOOSE_SLOT = "choose_slot"
    HOLD_CONSULT = "hold_consult"
    DECIDE_PLAN = "decide_plan"
    SEND_TRAVEL_DETAILS = "send_travel_details"
    RESERVE_VISIT = "reserve_visit"
    RECORD_CLINIC_ANSWER = "record_clinic_answer"
    TRAVEL_TO_CLINIC = "travel_to_clinic"
    CHANGE_TRAVEL = "change_travel"
    REPORT_ADMISSION = "report_admission"
    CHASE_ADMISSION = "chase_admission"
    REPORT_PROCEDURE = "report_procedure"
    REPORT_DISCHARGE = "report_discharge"
    FOLLOW_UP_YEAR = "follow_up_year"
    FOLLOW_UP_REHABILITATION = "follow_up_rehabilitation"
    COMPLETED = "completed"
    WITHDRAWN = "withdrawn"
    CLOSED = "closed"


# Each task in English, as the status's `waiting_for` and the Temporal UI's current details
# say it ("waiting on the patient to choose a consultation slot").
TASK_ENGLISH: dict[Task, str] = {
    Task.RECORD_INQUIRY: "recording the inquiry",
    Task.REVIEW_CASE: "to review the case",
    Task.SEND_DOCUMENTS: "to send the requested documents",
    Task.ASSIGNING_CASE_MANAGER: "assigning a case manager",
    Task.ASSIGN_CASE_MANAGER: "to assign a case manager",
    Task.CHOOSE_SLOT: "to choose a consultation slot",
    Task.HOLD_CONSULT: "to hold the consultation and record its outcome",
    Task.DECIDE_PLAN: "to accept or decline the treatment plan",
    Task.SEND_TRAVEL_DETAILS: "to send the travel details",
    Task.RESERVE_VISIT: "reserving the clinic visit, hotel and transfer",
    Task.RECORD_CLINIC_ANSWER: "to record the clinic's answer to the visit request",
    Task.TRAVEL_TO_CLINIC: "to travel to the clinic",
    Task.CHANGE_TRAVEL: "re-booking the clinic visit, hotel and transfer for new dates",
    Task.REPORT_ADMISSION: "to report the admission",
    Task.CHASE_ADMISSION: "to find out why the clinic has not reported the admission",
    Task.REPORT_PROCEDURE: "to report the procedure",
    Task.REPORT_DISCHARGE: "to report the discharge",
    Task.FOLLOW_UP_YEAR: "for the follow-up year (consults and weekly check-ins)",
    Task.FOLLOW_UP_REHABILITATION: "to follow up the rehabilitation and record what was agreed",
    Task.COMPLETED: "journey completed",
    Task.WITHDRAWN: "withdrawn",
    Task.CLOSED: "closed",
}
