"""The workflow code of a next build, for the rollout test: the project's own, with one change
to the journey behind `workflow.patched`, as a developer would ship it."""

from temporalio import workflow
from temporalio.common import VersioningBehavior

from workflows.journey import PatientJourney

with workflow.unsafe.imports_passed_through():
    from domain.journey import JourneyInput, JourneyOutcome

CLOSING_MEMO = "closing-memo"


@workflow.defn(name="PatientJourney", versioning_behavior=VersioningBehavior.AUTO_UPGRADE)
class NextPatientJourney(PatientJourney):
    """The journey, which on this build also writes how it ended into its memo."""

    @workflow.run
    async def run(self, journey: JourneyInput) -> JourneyOutcome:
        outcome = await super().run(journey)
        if workflow.patched(CLOSING_MEMO):
            workflow.upsert_memo({"closed_as": outcome.stage.value})
        return outcome
