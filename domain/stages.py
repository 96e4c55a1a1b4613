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
    NONE = "none"
