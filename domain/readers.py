"""Who may read what of a journey, and which journeys each role reaches: the one table the
JSON API, the staff console and the codec server read, so they cannot show different people
different things."""

from dataclasses import dataclass
from enum import StrEnum

from domain.actors import Role

# Who reads journeys (the worklist, a journey's status and timeline).
STAFF = frozenset(
    {
        Role.COORDINATOR,
        Role.REVIEWER,
        Role.SPECIALIST,
        Role.CASE_MANAGER,
        Role.MEDICAL_LEAD,
        Role.AUDITOR,
    }
)
# Every member of staff who signs in: the roles a staff token or an OIDC role claim may carry.
STAFF_ROLES = STAFF | {Role.PRIVACY_OFFICER, Role.STAFF_ADMIN}
# The patient's name, contact details and medical facts, and the records written about them
# (documents, plan and quote, travel, the clinic's reports, outcomes, check-ins). Auditors read
# who did what and when, never about whom: they see a journey's reference only.
SEES_PATIENT = STAFF - {Role.AUDITOR}
# What was decided about a patient, as a journey's timeline records it (outcomes, reasons,
# eligibility, document kinds, records' ids, booked dates, the clinic's reference): those who
# see the patient. Auditors get who did what and when (audit/timeline.py, `Disclosure`).
SEES_DECISIONS = SEES_PATIENT
# The documents themselves; the patient's own link reads the ones they sent.
READS_DOCUMENTS = SEES_PATIENT | {Role.PATIENT}
# The overview (counts and durations of all journeys, no patient and no journey named): for
# those who run the journeys, coordinators, the medical lead (the escalations' addressee) and
# case managers, and for auditors, who read it as they read who did what. Reviewers and
# specialists act on the cases put before them, and the privacy officer on requests about one
# patient: the running of the whole is not their work.
SEES_OVERVIEW = frozenset({Role.COORDINATOR, Role.MEDICAL_LEAD, Role.CASE_MANAGER, Role.AUDITOR})
# Who may read decoded payloads (the codec server, and the Temporal UI the proxy serves). The
# codec server cannot tell which journey a payload belongs to (the UI sends payloads alone), so
# it decodes only for roles that reach every journey (see SCOPES below) and decide on or run
# them: coordinators and the medical lead. Reviewers, specialists and case managers reach their
# own cases only, and a decoder would open them all; auditors read who did what and when, and
# privacy officers decide on requests, neither about a patient's health.
PAYLOAD_READERS = frozenset({Role.COORDINATOR, Role.MEDICAL_LEAD})
# Claims (api/claims.py): who says they have a piece of work on a journey, so that the others
# see it and leave it to them. Reviewers and the medical lead claim a case in validation for its
# review, coordinators an open incident for its resolution: the roles of those steps. The
# medical lead, the reviewers' escalation, takes over a reviewer's claim. Everyone who reads
# journeys sees who holds a claim.
CLAIMS_REVIEWS = frozenset({Role.REVIEWER, Role.MEDICAL_LEAD})
CLAIMS_INCIDENTS = frozenset({Role.COORDINATOR})
TAKES_OVER_REVIEWS = frozenset({Role.MEDICAL_LEAD})
# A journey's privacy record: whether it is held, asked to be erased, erased.
SEES_PRIVACY_RECORD = frozenset({Role.PRIVACY_OFFICER, Role.COORDINATOR})
# The list of erasure requests, across journeys.
SEES_ERASURE_REQUESTS = frozenset({Role.PRIVACY_OFFICER})
# The staff directory: adding, changing and deactivating members of staff. A role of its own,
# which reads no journey: whoever decides who may sign in, and as what, needs no patient's data,
# and the clinical roles' holders cannot give themselves or others a role.
KEEPS_STAFF_DIRECTORY = frozenset({Role.STAFF_ADMIN})


class Scope(StrEnum):
    """Which journeys a role reaches (HIPAA's minimum necessary): every one, or the ones its
    people are assigned to. api/authorization.py applies it to one journey, db/journey_queries.py
    to lists."""

    # Coordinators, the medical lead and privacy officers run or answer for every journey;
    # auditors read every journey's who-did-what (never its patient); the clinic reports on
    # the patients it treats, whichever journey its signed webhook names.
    EVERY = "every"
    # A case manager: the journeys whose case manager they are (journeys.case_manager_id).
    ASSIGNED = "assigned"
    # A specialist: the journeys booked with them (journeys.specialist_id, set when the
    # journey offers their consultation slots; their follow-up consults are theirs too).
    BOOKED = "booked"
    # A reviewer: every case in VALIDATION (any reviewer may pick one up), and after it the
    # cases they decided (journeys.reviewer_id, set as the journey records the decision).
    REVIEWING = "reviewing"
    # A patient's or a partner's link: its own journey.
    OWN_LINK = "own_link"


# Each role's reach. A role not named (the workflows' own `system`, the staff administrators,
# who keep the directory and read no journey) reaches no journey through the API.
SCOPES: dict[Role, Scope] = {
    Role.COORDINATOR: Scope.EVERY,
    Role.MEDICAL_LEAD: Scope.EVERY,
    Role.PRIVACY_OFFICER: Scope.EVERY,
    Role.AUDITOR: Scope.EVERY,
    Role.CLINIC: Scope.EVERY,
    Role.CASE_MANAGER: Scope.ASSIGNED,
    Role.SPECIALIST: Scope.BOOKED,
    Role.REVIEWER: Scope.REVIEWING,
    Role.PATIENT: Scope.OWN_LINK,
    # A partner's link names one journey (and one booking of it, which its route checks).
    Role.PARTNER: Scope.OWN_LINK,
}
assert all(SCOPES.get(role) is Scope.EVERY for role in PAYLOAD_READERS), "see PAYLOAD_READERS"


@dataclass(frozen=True)
class Reach:
    """The journeys one person reaches: their role's scope, and who they are (a staff id, or
    the journey of a patient's link)."""

    scope: Scope
    person: str

    @property
    def every(self) -> bool:
        return self.scope is Scope.EVERY
