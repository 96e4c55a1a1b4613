"""Who acts on a journey: an id and a role, from the API's authentication."""

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field


class Role(StrEnum):
    PATIENT = "patient"
    COORDINATOR = "coordinator"
    REVIEWER = "reviewer"
    SPECIALIST = "specialist"
    CASE_MANAGER = "case_manager"
    MEDICAL_LEAD = "medical_lead"
    AUDITOR = "auditor"
    # Answers access requests, places legal holds and carries out erasures (GDPR Art. 15-20).
    PRIVACY_OFFICER = "privacy_officer"
    # Keeps the staff directory: who works here, in which role, and a specialist's hours.
    STAFF_ADMIN = "staff_admin"
    CLINIC = "clinic"
    # A hotel or transfer partner, through the signed link its request email carries.
    PARTNER = "partner"
    SYSTEM = "system"


class Actor(BaseModel):
    """The acting person or system; its id is a staff id, a patient id or a system name."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(min_length=1, max_length=120)
    role: Role


SYSTEM = Actor(id="system", role=Role.SYSTEM)
