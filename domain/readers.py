"""Who may read what of a journey: the one table the JSON API and the staff console both read,
so the two cannot show different people different things."""

from domain.actors import Role

# Every member of staff who signs in: the roles a staff token or an OIDC role claim may carry.
STAFF_ROLES = frozenset(
    {
        Role.COORDINATOR,
        Role.REVIEWER,
        Role.SPECIALIST,
        Role.CASE_MANAGER,
        Role.MEDICAL_LEAD,
        Role.AUDITOR,
        Role.PRIVACY_OFFICER,
    }
)
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
# Who may read decoded payloads (the codec server, and the Temporal UI the proxy serves): the
# roles that decide on or run every journey. The codec server cannot tell which journey a
# payload belongs to (the UI sends payloads alone), so a role whose access is scoped to its own
# patients cannot be given a decoder that opens them all: case managers (their own patients'
# logistics and contact) get encoded payloads, as do auditors, who read who did what and when,
# not what was decided about a patient's health.
PAYLOAD_READERS = frozenset({Role.COORDINATOR, Role.REVIEWER, Role.SPECIALIST, Role.MEDICAL_LEAD})
# A journey's privacy record: whether it is held, asked to be erased, erased.
SEES_PRIVACY_RECORD = frozenset({Role.PRIVACY_OFFICER, Role.COORDINATOR})
# The list of erasure requests, across journeys.
SEES_ERASURE_REQUESTS = frozenset({Role.PRIVACY_OFFICER})
