"""The whole journey in the time-skipping environment, through the real worker, Postgres and SMTP."""

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import asyncpg
import pytest
from temporalio.testing import WorkflowEnvironment

from domain.stages import Stage, WaitingOn
from settings import Settings
from tests.journeys import JourneyDriver, seed_staff

pytestmark = pytest.mark.usefixtures("worker")

NewJourney = Callable[..., JourneyDriver]


@pytest.fixture
async def journey(
    temporal_env: WorkflowEnvironment, pool: asyncpg.Pool, settings: Settings, mail_dir: Path
) -> NewJourney:
    await seed_staff(pool)

    def new(**kwargs: object) -> JourneyDriver:
        return JourneyDriver(temporal_env, pool, settings.task_queue, mail_dir, **kwargs)  # type: ignore[arg-type]

    return new


async def test_happy_path_from_inquiry_to_completion(journey: NewJourney) -> None:
    j = await journey().start()
    await j.approve()
    status = await j.reach(Stage.TELECONSULT, WaitingOn.PATIENT)
    assert status.case_manager_id == "cm-es", "Spanish-speaking case manager for a Spanish speaker"
    assert len(status.offered_slots) == 6
    await j.hold_consult()
    await j.accept_plan()
    await j.send_travel()
    await j.sleep(timedelta(days=31))
    await j.treat()
    await j.follow_up_year()

    outcome = await j.result()
    assert outcome.stage is Stage.COMPLETED
    steps = j.mail_kinds()
    for expected in (
        "acknowledgement",
        "staff-new-inquiry",
        "case-manager-intro-1",
        "case-assigned-1",
        "slot-proposals-1",
        "booking-confirmation-1",
        "consult-booked-1",
        "consult-reminder-1-1",
        "consult-reminder-1-2",
        "plan-and-quote",
        "travel-details-request",
        "visit-confirmed",
        "visa-letter",
        "hotel-request",
        "transfer-request",
        "travel-checklist",
        "travel-reminder",
        "follow-up-advice-1-send",
        "follow-up-consult-5-reminder",
        "completion",
    ):
        assert expected in steps, expected
    assert len(steps) == len(set(steps)), "no step emailed twice"
    assert not any("escalation" in s or "missed" in s or "overdue" in s for s in steps)
    assert await j.bookings() == {
        "consult-1": "active",
        "clinic-visit": "active",
        "hotel": "active",
        "transfer": "active",
    }
    status = await j.status()
    stages = [t.stage for t in status.transitions]
    assert [s for i, s in enumerate(stages) if i == 0 or stages[i - 1] != s] == [
        Stage.INQUIRY,
        Stage.VALIDATION,
        Stage.CASE_MANAGER,
        Stage.TELECONSULT,
        Stage.PLAN,
        Stage.TRAVEL,
        Stage.TREATMENT,
        Stage.FOLLOW_UP,
        Stage.COMPLETED,
    ]
    actors = {t.actor_role for t in status.transitions}
    assert {"reviewer", "specialist", "patient", "clinic"} <= actors
