"""Names that other systems build on: task queue, workflow ids, search attributes."""

from temporalio.common import SearchAttributeKey

TASK_QUEUE = "patient-journeys"
# The Worker Deployment every build of the worker declares itself a version of; operators name
# it in `journeys deployment` and in visibility queries (`TemporalWorkerDeploymentVersion`).
WORKER_DEPLOYMENT = "patient-journeys"
WORKFLOW_ID_PREFIX = "journey-"

JOURNEY_STAGE = SearchAttributeKey.for_keyword("JourneyStage")
WAITING_ON = SearchAttributeKey.for_keyword("WaitingOn")
NEXT_DEADLINE = SearchAttributeKey.for_datetime("NextDeadline")
CASE_MANAGER = SearchAttributeKey.for_keyword("CaseManager")
PATIENT_COUNTRY = SearchAttributeKey.for_keyword("PatientCountry")
TREATMENT_DATE = SearchAttributeKey.for_datetime("TreatmentDate")
# The open incident's coded kind (domain/incidents.py), empty when there is none.
INCIDENT = SearchAttributeKey.for_keyword("Incident")

# Every custom search attribute with the type the server must register it as; the dev stack
# and the test environments register exactly this list.
SEARCH_ATTRIBUTES: dict[str, str] = {
    JOURNEY_STAGE.name: "Keyword",
    WAITING_ON.name: "Keyword",
    NEXT_DEADLINE.name: "Datetime",
    CASE_MANAGER.name: "Keyword",
    PATIENT_COUNTRY.name: "Keyword",
    TREATMENT_DATE.name: "Datetime",
    INCIDENT.name: "Keyword",
}


# The signal the follow-up year sends its journey when a rehabilitation follow-up opens or
# closes (domain/rehab.py, `RehabNotice`).
REHAB_NOTICE_SIGNAL = "rehab_follow_up_changed"


def journey_workflow_id(journey_id: str) -> str:
    """The workflow id of a journey: `journey-<journey_id>`."""
    return f"{WORKFLOW_ID_PREFIX}{journey_id}"


def follow_up_workflow_id(journey_id: str) -> str:
    """The workflow id of a journey's follow-up child: `journey-<journey_id>-follow-up`."""
    return f"{journey_workflow_id(journey_id)}-follow-up"


def journey_id_of(workflow_id: str) -> str | None:
    """The journey a workflow id belongs to (the journey's or its follow-up year's), or None
    for a workflow of something else."""
    if not workflow_id.startswith(WORKFLOW_ID_PREFIX):
        return None
    return workflow_id.removeprefix(WORKFLOW_ID_PREFIX).removesuffix("-follow-up") or None


def case_page_url(console_base_url: str, journey_id: str) -> str:
    """The journey's case page in the staff console, or "" without a console address: staff
    emails and the journey's details in the Temporal UI link there."""
    base = console_base_url.rstrip("/")
    return f"{base}/staff/journeys/{journey_id}" if base else ""


def journey_reference(journey_id: str) -> str:
    """The journey's reference as emails and pages give it to people: the id's first 8
    characters, upper case (`7D3C2A1B`)."""
    return str(journey_id).split("-", 1)[0].upper()
