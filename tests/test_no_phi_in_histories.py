"""Sentinel PHI goes in on every path a journey can take; nothing Temporal keeps holds it, read
with the key (every payload decoded) or without it (the bytes as stored), and neither do the
worker's and the API's logs.

First the search proves it can see: values placed on purpose in each kind of payload are
found once decoded and are not in the encrypted bytes, and a client without the key cannot
search at all. Then one environment runs every path, each journey with the sentinel form: the
happy path to the end of the follow-up year (its runs continued as new, an incident of the
year skipped), a rejection, two no-shows, lost contact, a refused acknowledgement retried then
skipped, a withdrawal mid-travel, a change of travel dates (one declined, one booked) with
its partners' confirmations, an erasure through the API of a journey still running, and
the retention sweep of all the rest; then every run of every one of them is searched.
"""

import io
import json
import logging
import os
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from pydantic import SecretStr
from temporalio import activity, workflow
from temporalio.api.common.v1 import Header, Payloads
from temporalio.api.enums.v1 import EventType
from temporalio.api.failure.v1 import Failure
from temporalio.api.history.v1 import (
    ActivityTaskFailedEventAttributes,
    ActivityTaskScheduledEventAttributes,
    HistoryEvent,
    WorkflowExecutionUpdateAcceptedEventAttributes,
    WorkflowExecutionUpdateCompletedEventAttributes,
)
from temporalio.api.update.v1 import Input, Outcome, Request
from temporalio.client import Client, WorkflowHistory
from temporalio.common import SearchAttributePair, TypedSearchAttributes
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment

from audit.timeline import journey_histories
from devstack.ports import free_port
from domain.actors import Actor, Role
from domain.names import CASE_MANAGER
from domain.stages import Stage
from integrations.data_converter import build_data_converter
from integrations.payload_codec import PayloadDecodeError
from integrations.payload_keys import new_payload_key_entry
from observability.logs import configure_logging
from settings import Settings
from tests.api_people import staff
from tests.dev_process import journeys_api
from tests.faults import USER_UNKNOWN
from tests.helpers import read_mailbox, text_of, valid_form
from tests.journey_paths import (
    REFUSED_DOMAIN,
    book_consult,
    change_dates,
    complete,
    fall_behind_in_rehab,
    lose_contact,
    miss_two_consults,
    reject,
    relay_worker,
    resolve_refused_acknowledgement,
    sweep,
    withdraw_mid_travel,
)
from tests.journeys import JourneyDriver, seed_staff
from tests.phi_search import (
    NEVER_ENCODED,
    assert_no_phi,
    found_in,
    journey_runs,
    search_runs,
    workflow_runs,
)

# A name in two alphabets, a medical history partly in a third, a phone and addresses: each
# distinctive enough that no code, id or ciphertext holds it by chance.
NAME = "Zephyrine Quillfeather Ξανθοπούλου"
SENTINELS = {
    "full_name": NAME,
    "email": "zq.sentinel@example.org",
    "phone": "+34 699 000 111",
    "medical_history": "SENTINEL-HX-7731: спастичность 3 степени после падения, T6",
}
NOTES = "SENTINEL-NOTE-4410: пролежень на крестце, trunk control 3/5"
# A partner's reference for the patient's reservation: the partner's words, kept in PostgreSQL.
PARTNER_REFERENCE = "SENTINEL-REF-5520 Ξανθοπούλου"
REFUSED_EMAIL = f"zq.refused.sentinel@{REFUSED_DOMAIN}"
CORRECTED_EMAIL = "zq.corrected.sentinel@example.org"
# Staff write no health data in a reason; a name in one must not reach Temporal either.
ERASURE_REASON = f"letter of 2026-11-02 from {NAME} asking for erasure (GDPR Art. 17)"
NEEDLES = [
    *SENTINELS.values(),
    "Zephyrine",
    "Quillfeather",
    "Ξανθοπούλου",
    "zq.sentinel",
    "+34699000111",
    "699000111",
    "699 000 111",
    "SENTINEL-HX-7731",
    "спастичность",
    NOTES,
    "SENTINEL-NOTE-4410",
    PARTNER_REFERENCE,
    "SENTINEL-REF-5520",
    "пролежень",
    REFUSED_EMAIL,
    CORRECTED_EMAIL,
    "zq.refused",
    "zq.corrected",
]


# -- the search can see -------------------------------------------------------------------


def _canary(place: str) -> str:
    return f"CANARY-{place.upper()}-Ωμέγα-{uuid.uuid4().hex[:6]}"


async def _events_with_every_kind_of_payload(
    client: Client, canaries: dict[str, str]
) -> list[HistoryEvent]:
    """Events as a worker's commands would record them, each payload encoded by the project's
    converter: an update's argument and result, an activity's header, and a failure with
    details and a cause."""
    converter = client.data_converter

    async def payloads(value: Any) -> Payloads:
        return Payloads(payloads=await converter.encode([value]))

    try:
        try:
            raise ApplicationError(canaries["failure cause"], type="Inner")
        except ApplicationError as inner:
            raise ApplicationError(
                canaries["failure message"], {"note": canaries["failure details"]}, type="Outer"
            ) from inner
    except ApplicationError as outer:
        failure = Failure()
        await converter.encode_failure(outer, failure)
    [header] = await converter.encode([canaries["header"]])
    _E = EventType
    return [
        HistoryEvent(
            event_id=9001,
            event_type=_E.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED,
            workflow_execution_update_accepted_event_attributes=(
                WorkflowExecutionUpdateAcceptedEventAttributes(
                    accepted_request=Request(
                        input=Input(
                            name="review",
                            args=await payloads({"note": canaries["update argument"]}),
                        )
                    )
                )
            ),
        ),
        HistoryEvent(
            event_id=9002,
            event_type=_E.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED,
            workflow_execution_update_completed_event_attributes=(
                WorkflowExecutionUpdateCompletedEventAttributes(
                    outcome=Outcome(success=await payloads([canaries["update result"]]))
                )
            ),
        ),
        HistoryEvent(
            event_id=9003,
            event_type=_E.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED,
            activity_task_scheduled_event_attributes=ActivityTaskScheduledEventAttributes(
                header=Header(fields={"canary": header})
            ),
        ),
        HistoryEvent(
            event_id=9004,
            event_type=_E.EVENT_TYPE_ACTIVITY_TASK_FAILED,
            activity_task_failed_event_attributes=ActivityTaskFailedEventAttributes(
                failure=failure
            ),
        ),
    ]


async def test_the_search_finds_a_sentinel_once_decoded_and_never_in_the_stored_bytes(
    temporal_env: WorkflowEnvironment,
) -> None:
    client = temporal_env.client
    hidden = {
        place: _canary(place)
        for place in (
            "input",
            "memo",
            "summary",
            "details",
            "signal",
            "termination",
            "update argument",
            "update result",
            "header",
            "failure message",
            "failure cause",
            "failure details",
        )
    }
    clear = {place: _canary(place) for place in ("search attribute", "termination reason")}
    # A run no worker takes: everything it holds is what the client sent, encoded.
    handle = await client.start_workflow(
        "PatientJourney",
        {"note": hidden["input"]},
        id=f"canary-{uuid.uuid4().hex[:8]}",
        task_queue=f"nobody-{uuid.uuid4().hex[:8]}",
        memo={"note": hidden["memo"]},
        static_summary=hidden["summary"],
        static_details=hidden["details"],
        search_attributes=TypedSearchAttributes(
            [SearchAttributePair(CASE_MANAGER, clear["search attribute"])]
        ),
    )
    await handle.signal("look_for_new_build", hidden["signal"])
    await handle.terminate(hidden["termination"], reason=clear["termination reason"])
    [stored] = await workflow_runs(client, handle.id)
    run = WorkflowHistory(
        stored.workflow_id,
        [*stored.events, *await _events_with_every_kind_of_payload(client, hidden)],
    )

    search = await search_runs(client, [run], [*hidden.values(), *clear.values()])

    for place, value in hidden.items():
        assert search.where(value, "decoded"), f"the {place} was not found decoded"
        assert not search.where(value, "raw"), f"the {place} is stored in clear"
    assert {"description"} <= search.where(hidden["memo"], "decoded")
    for place, value in clear.items():
        assert search.where(value, "raw"), f"the {place}, stored in clear, was not found"
    assert search.decrypted >= len(hidden), "each hidden value was in an encrypted payload"
    # JSON escapes and case do not hide a value: the input is found as the codec stored it.
    assert found_in(json.dumps({"n": hidden["input"]}), [hidden["input"].lower()])

    # Without the key there is no search: it fails, naming the key, rather than find nothing.
    keyless = Client(
        client.service_client,
        namespace=client.namespace,
        data_converter=build_data_converter(
            Settings(payload_keys=SecretStr(new_payload_key_entry("elsewhere")))
        ),
    )
    with pytest.raises(PayloadDecodeError, match="test-2026"):
        await search_runs(keyless, [run], list(hidden.values()))


# -- every path ---------------------------------------------------------------------------

Lines = Callable[[], list[dict[str, Any]]]


@pytest.fixture
def worker_log() -> Iterator[Lines]:
    """This process's log lines (the worker's, the journeys' and the activities'), as
    `journeys worker` writes them."""
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    flags = workflow.logger.workflow_info_on_message, activity.logger.activity_info_on_message
    buffer = io.StringIO()
    configure_logging("worker", stream=buffer)
    yield lambda: [json.loads(line) for line in buffer.getvalue().splitlines()]
    root.handlers[:], level = saved
    root.setLevel(level)
    workflow.logger.workflow_info_on_message, activity.logger.activity_info_on_message = flags


@asynccontextmanager
async def api_process(settings: Settings, log_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    """`journeys api` on a free port, on the test's database, Temporal and task queue, its
    log written to `log_path`."""
    port = free_port()
    env = os.environ | {
        "JOURNEYS_DATABASE_URL": settings.require_database_url(),
        "JOURNEYS_TEMPORAL_ADDRESS": settings.temporal_target,
        "JOURNEYS_TASK_QUEUE": settings.task_queue,
        "JOURNEYS_API_PORT": str(port),
        "JOURNEYS_API_METRICS_ADDRESS": f"127.0.0.1:{free_port()}",
        "JOURNEYS_INTAKE_SWEEP_SECONDS": "0",
    }
    async with (
        journeys_api(env, log_path),
        httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=60) as http,
    ):
        yield http


async def _erased_through_the_api(
    http: httpx.AsyncClient, settings: Settings, j: JourneyDriver
) -> None:
    """The inquiry sent through the API, a consult booked, the patient's record read by a
    coordinator, then the journey erased by a privacy officer while it still runs."""
    sent = await http.post("/api/v1/inquiries", json=valid_form(**SENTINELS))
    assert sent.status_code == 202, sent.text
    j.journey_id = str(sent.json()["journey_id"])
    patient_id = await j.pool.fetchval(
        "SELECT patient_id FROM journeys WHERE journey_id = $1", j.journey_id
    )
    j.patient = Actor(id=str(patient_id), role=Role.PATIENT)
    await book_consult(j)
    read = await http.get(
        f"/api/v1/journeys/{j.journey_id}/patient", headers=staff(settings, Role.COORDINATOR)
    )
    assert read.json()["full_name"] == NAME, "the API read the sentinel"
    erased = await http.post(
        f"/api/v1/journeys/{j.journey_id}/erasure",
        json={"reason": ERASURE_REASON},
        headers=staff(settings, Role.PRIVACY_OFFICER),
    )
    assert erased.status_code == 200, erased.text
    assert (await j.result()).stage is Stage.WITHDRAWN


async def _holds_the_sentinels(pool: asyncpg.Pool, journey_id: str) -> bool:
    row = await pool.fetchrow(
        """SELECT p.full_name, p.phone, i.medical_history
             FROM journeys j JOIN patients p USING (patient_id) JOIN inquiries i USING (journey_id)
            WHERE j.journey_id = $1""",
        journey_id,
    )
    return row is not None and (row["full_name"], row["phone"], row["medical_history"]) == (
        NAME,
        "+34699000111",
        SENTINELS["medical_history"],
    )


async def test_no_path_leaves_phi_in_any_history_description_detail_or_log(
    temporal_env: WorkflowEnvironment,
    pool: asyncpg.Pool,
    settings: Settings,
    tmp_path: Path,
    worker_log: Lines,
) -> None:
    client = temporal_env.client
    await seed_staff(pool)
    api_log = tmp_path / "api.log"
    async with (
        relay_worker(client, settings, pool, tmp_path / "mail") as relay,
        api_process(settings, api_log) as http,
    ):

        def driver() -> JourneyDriver:
            return JourneyDriver(temporal_env, pool, settings.task_queue, relay.directory)

        rejected = await driver().start(**SENTINELS)
        await reject(rejected)
        relay.refuse(REFUSED_DOMAIN, USER_UNKNOWN)
        incident = await driver().start(**SENTINELS | {"email": REFUSED_EMAIL})
        await resolve_refused_acknowledgement(incident, corrected_email=CORRECTED_EMAIL)
        no_shows = await driver().start(**SENTINELS)
        await miss_two_consults(no_shows)
        lost = await driver().start(**SENTINELS)
        await lose_contact(lost)
        withdrawn = await driver().start(**SENTINELS)
        await withdraw_mid_travel(withdrawn, notes=NOTES)
        # New dates whose record carries the notes; partners' references that name them.
        changed = await driver().start(**SENTINELS)
        await change_dates(changed, notes=NOTES, reference=PARTNER_REFERENCE)
        erased = driver()
        await _erased_through_the_api(http, settings, erased)
        completed = await driver().start(**SENTINELS)
        await complete(completed, notes=NOTES, checkin_weeks=2, refused_in_follow_up=relay)
        behind = await driver().start(**SENTINELS)
        await fall_behind_in_rehab(behind, agreed=NOTES, notes=NOTES)

        # The sentinels went in: the records hold them and the emails carried them; the
        # search would prove nothing otherwise.
        kept = [rejected, incident, no_shows, lost, withdrawn, changed, completed, behind]
        for j in kept:
            assert await _holds_the_sentinels(pool, j.journey_id), j.journey_id
        assert await pool.fetchval(
            "SELECT count(*) FROM follow_up_outcomes WHERE notes = $1", NOTES
        ) == 2 * len(completed.policy.follow_up_offsets)
        # What the case manager agreed, and what the patient wrote with each check-in.
        assert (
            await pool.fetchval("SELECT count(*) FROM rehab_follow_up_notes WHERE note = $1", NOTES)
            == 1
        )
        assert (
            await pool.fetchval(
                "SELECT count(*) FROM rehab_checkins WHERE journey_id = $1 AND notes = $2",
                behind.journey_id,
                NOTES,
            )
            == 2
        )
        assert await pool.fetch(
            """SELECT change_status FROM travel_records WHERE journey_id = $1 AND notes = $2
                ORDER BY submitted_at""",
            uuid.UUID(changed.journey_id),
            NOTES,
        ) == [("failed",), ("applied",)]
        assert (
            await pool.fetchval(
                "SELECT count(*) FROM partner_confirmations WHERE reference = $1", PARTNER_REFERENCE
            )
            == 4
        )
        mailed = "\n".join(m["To"] + text_of(m) for m in read_mailbox(relay.directory))
        assert found_in(mailed, [NAME, SENTINELS["email"], CORRECTED_EMAIL]) == [
            NAME,
            SENTINELS["email"],
            CORRECTED_EMAIL,
        ]
        assert len(await journey_histories(client, completed.journey_id)) >= 3, (
            "the journey and at least two runs of its follow-up year"
        )

        sweep_id, swept = await sweep(temporal_env, settings.task_queue)
        assert sorted(swept) == sorted(j.journey_id for j in kept)
        assert not await _holds_the_sentinels(pool, completed.journey_id), "erased by the sweep"

        runs = [run for j in [*kept, erased] for run in await journey_runs(client, j.journey_id)]
        runs += await workflow_runs(client, sweep_id)
        types = {
            r.events[0].workflow_execution_started_event_attributes.workflow_type.name for r in runs
        }
        assert types == {"PatientJourney", "FollowUp", "JourneyErasure", "RetentionSweep"}
        search = await assert_no_phi(client, runs, NEEDLES, current_details=True)
        # Every run was read decrypted; the payloads stored in clear are those that are
        # never given to a codec.
        assert search.runs == len(runs) and search.decrypted > 0
        assert set(search.clear) <= set(NEVER_ENCODED.values()), search.clear

    worker_lines = worker_log()
    assert any(
        line.get("journey_id") == incident.journey_id and "incident 2 opened" in line["message"]
        for line in worker_lines
    ), "the worker's log of these journeys was captured"
    # The test's relay logs what it is sent, as any mail server does; it is not ours.
    ours = [line for line in worker_lines if not line["logger"].startswith("mail.")]
    leaked = found_in("\n".join(json.dumps(line, ensure_ascii=False) for line in ours), NEEDLES)
    assert not leaked, leaked
    api_lines = api_log.read_text()
    assert f"POST /api/v1/journeys/{erased.journey_id}/erasure 200" in api_lines
    leaked = found_in(api_lines, NEEDLES)
    assert not leaked, leaked
