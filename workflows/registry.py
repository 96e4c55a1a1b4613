"""The project's workflows and the sandbox they run in: what the worker registers and what
replay checks histories against.

Kept apart from `worker.py` so that replaying histories (`journeys replay`, the tests, the
benchmark) loads the workflow code without the worker's outside systems (SMTP, CalDAV, the
clinic's FHIR client).
"""

from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

from workflows.follow_up import FollowUp
from workflows.journey import PatientJourney
from workflows.retention import JourneyErasure, RetentionSweep

# Each declares in `@workflow.defn` how it moves between builds of the worker: the journey
# upgrades to the current build at its next task, the others stay pinned to the build they
# started on, the follow-up year until it continues as new (docs/changing-workflow-code.md).
WORKFLOWS = [PatientJourney, FollowUp, JourneyErasure, RetentionSweep]

# Deterministic modules every run shares rather than re-imports: the project's models, the
# activity classes the workflows name, and pydantic.
SANDBOX_PASSTHROUGH = ("domain", "activities", "pydantic", "pydantic_core", "annotated_types")
WORKFLOW_PACKAGE = "workflows"


def sandbox_restrictions(
    *, reimport_workflows: bool = False, also: tuple[str, ...] = ()
) -> SandboxRestrictions:
    """The sandbox's pass-through list.

    By default the `workflows` package is passed through too: imported once per process, not
    once per run, which keeps a cached run's memory small (see bench/RESULTS.md, section 5).
    The sandbox then no longer checks the workflow code for non-deterministic calls, so the
    test suite runs every workflow with `reimport_workflows=True`, where each run imports the
    workflow code afresh inside the sandbox and any such call fails the test.
    """
    modules = (
        SANDBOX_PASSTHROUGH if reimport_workflows else (*SANDBOX_PASSTHROUGH, WORKFLOW_PACKAGE)
    )
    return SandboxRestrictions.default.with_passthrough_modules(*modules, *also)


def workflow_runner(*, reimport_workflows: bool = False) -> SandboxedWorkflowRunner:
    return SandboxedWorkflowRunner(
        restrictions=sandbox_restrictions(reimport_workflows=reimport_workflows)
    )
