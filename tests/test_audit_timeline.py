"""`journeys timeline` reads who did what and when from a complete journey's histories.

A journey is driven from inquiry to the end of its follow-up year in the time-skipping
environment; its timeline must name every actor and step in order, every stage in journey
order, its emails, bookings and timers, and no name or address unless names are asked for.
"""

import asyncio
import json
import os

import asyncpg
import pytest
from temporalio.testing import WorkflowEnvironment

from audit.timeline import (
    EVERYTHING,
    TimelineEntry,
    actor_names,
    render_markdown,
    timeline_for,
)
from domain.stages import Stage
from settings import Settings
from tests.helpers import journeys_command, valid_form
from tests.journeys import CLINIC, COORDINATOR, REVIEWER, SPECIALIST, JourneyDriver

pytestmark = pytest.mark.usefixtures("worker")

PHI = (valid_form()["full_name"], valid_form()["email"], valid_form()["phone"])
JOURNEY_STAGES = [
    "INQUIRY",
    "VALIDATION",
    "CASE_MANAGER",
    "TELECONSULT",
    "PLAN",
    "TRAVEL",
    "TREATMENT",
    "FOLLOW_UP",
    "COMPLETED",
]


@pytest.fixture
async def complete_journey(driver: JourneyDriver) -> JourneyDriver:
    j = await driver.start()
    await j.book_and_treat()
    await j.follow_up_year(checkin_weeks=2)
    assert (await j.result()).stage is Stage.COMPLETED
    return j


async def test_the_timeline_names_every_actor_and_step_in_order(
    complete_journey: JourneyDriver, temporal_env: WorkflowEnvironment
) -> None:
    j = complete_journey
    entries = await timeline_for(temporal_env.client, j.journey_id, disclosure=EVERYTHING)
    assert [e.at for e in entries] == sorted(e.at for e in entries), "oldest first"

    patient, reviewer, specialist = j.patient.id, REVIEWER.id, SPECIALIST.id
    clinic, coordinator = CLINIC.id, COORDINATOR.id
    steps = [(e.what, e.actor_id) for e in entries if e.kind == "step" and e.actor_id != "system"]
    assert steps == [
        ("inquiry submitted", patient),
        ("review: approve", reviewer),
        ("book consult", patient),
        ("consult outcome: eligible", specialist),
        ("plan decision: accepted", patient),
        ("travel details", patient),
        # the clinic confirms the visit by email; a coordinator records its answer
        ("clinic confirmation: confirmed", coordinator),
        # the hotel's and the transfer company's answers, recorded by a coordinator
        ("partner confirmation", coordinator),
        ("partner confirmation", coordinator),
        ("clinic admission", clinic),
        ("procedure report", clinic),
        ("clinic discharge", clinic),
        # the follow-up child: check-ins a day before each week ends; each consult booked
        # once its times are offered, its outcome recorded once it has started
        ("book follow up 1", patient),
        ("rehab checkin 1", patient),
        ("record outcome 1", specialist),
        ("rehab checkin 2", patient),
        *[
            step
            for n in range(2, 6)
            for step in (("book follow up " + str(n), patient), (f"record outcome {n}", specialist))
        ],
    ]
    assert {e.actor_role for e in entries if e.actor_id == patient} == {"patient"}

    stages = [e.what.split(",")[0] for e in entries if e.kind == "stage"]
    assert [s for i, s in enumerate(stages) if i == 0 or stages[i - 1] != s] == JOURNEY_STAGES
    opened_by = {e.what.split(",")[0]: e.actor_id for e in reversed(entries) if e.kind == "stage"}
    assert opened_by["CASE_MANAGER"] == reviewer, "the approval opened case management"
    assert opened_by["PLAN"] == specialist

    emails = {e.details["step"]: e for e in entries if e.kind == "email"}
    for step in ("acknowledgement", "booking-confirmation-1", "plan-and-quote", "completion"):
        assert emails[step].details["status"] == "completed", step
    assert "follow-up-advice-1-send" in emails, "the child's emails are in the same timeline"

    bookings = [e for e in entries if e.kind == "booking"]
    assert [b.what for b in bookings] == [
        "consult booked",
        "clinic visit booked",
        "hotel booked",
        "transfer booked",
        # each follow-up consult, booked in the follow-up child
        *["consult booked"] * 5,
    ]
    assert all(b.details["booking_id"].startswith(j.journey_id) for b in bookings)
    assert not [e for e in entries if e.kind == "cancellation"]

    timers = [e.what for e in entries if e.kind == "timer"]
    for fired in ("Consult reminder", "Checklist due", "Travel reminder", "Visit day 1"):
        assert fired in timers, fired
    assert "Offer times for follow-up consult 5" in timers
    assert "Follow-up consult 5: reminder before it" in timers
    assert timers.index("Checklist due") < timers.index("Visit day 1")

    # Only two weeks of check-ins: week 3 is missed, which puts the journey before the case
    # manager; the weeks missed while that follow-up stays open are told to them too.
    assert emails["follow-up-rehab-1"].details["status"] == "completed"
    assert "FOLLOW_UP, waiting on case_manager" in [e.what for e in entries if e.kind == "stage"]
    escalations = [e for e in entries if e.kind == "escalation"]
    assert escalations and all("checkin missed" in e.what for e in escalations)
    assert escalations[0].details["checkin_week"] == "4"

    children = [e.what for e in entries if e.kind == "child"]
    assert children == ["FollowUp started", "FollowUp completed"]
    assert entries[-1].kind == "end" and entries[-1].what == "journey ended COMPLETED"
    assert any(e.what == "FollowUp continued as new" for e in entries)

    markdown = render_markdown(entries)
    rows = markdown.splitlines()
    for actor in (patient, reviewer, specialist, clinic, coordinator):
        assert f"| {actor} (" in markdown, actor
    first_row = {a: next(i for i, r in enumerate(rows) if a in r) for a in (reviewer, specialist)}
    assert first_row[reviewer] < first_row[specialist]
    _assert_no_phi(markdown, entries)


async def test_names_only_when_given(
    complete_journey: JourneyDriver,
    temporal_env: WorkflowEnvironment,
    pool: asyncpg.Pool,
    settings: Settings,
) -> None:
    j = complete_journey
    entries = await timeline_for(temporal_env.client, j.journey_id, disclosure=EVERYTHING)
    async with pool.acquire() as conn:
        names = await actor_names(conn, j.journey_id, entries)
    assert names == {
        "spec-1": "Dr. Elena Vidal",
        "cm-es": "Lucía Romero",
        j.patient.id: valid_form()["full_name"],
    }, "rev-1 and the clinic gateway are not in the staff table: they stay ids"

    named = render_markdown(entries, names)
    assert "Dr. Elena Vidal (spec-1, specialist)" in named
    assert f"Ana García ({j.patient.id}, patient)" in named
    assert "case_manager_id=Lucía Romero (cm-es)" in named
    assert "| rev-1 (reviewer) |" in named

    # The command: Markdown by default, ids only; names with --names from the database, which
    # also says the journey was not erased.
    target = temporal_env.client.service_client.config.target_host
    env = os.environ | {"JOURNEYS_DATABASE_URL": settings.database_url or ""}
    plain = await asyncio.to_thread(
        journeys_command, "timeline", j.journey_id, "--address", target, env=env
    )
    assert plain.returncode == 0, plain.stderr
    assert plain.stdout == render_markdown(entries)
    _assert_no_phi(plain.stdout, entries)
    with_names = await asyncio.to_thread(
        journeys_command,
        "timeline",
        j.journey_id,
        "--address",
        target,
        "--json",
        "--names",
        env=env,
    )
    assert with_names.returncode == 0, with_names.stderr
    body = json.loads(with_names.stdout)
    assert body["names"] == names
    assert [TimelineEntry.model_validate(e) for e in body["entries"]] == entries

    missing = await asyncio.to_thread(
        journeys_command, "timeline", "no-such-journey", "--address", target
    )
    assert missing.returncode == 2 and "no journey no-such-journey" in missing.stderr


def _assert_no_phi(markdown: str, entries: list[TimelineEntry]) -> None:
    dumped = json.dumps([e.model_dump(mode="json") for e in entries], ensure_ascii=False)
    for value in PHI:
        assert value not in markdown and value not in dumped, value
    assert "Dr. Elena Vidal" not in markdown and "Lucía Romero" not in markdown
