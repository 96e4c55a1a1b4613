"""The scripted people: they drive a journey through the API from inquiry to COMPLETED, each
step answered as soon as the journey allows it; and the same script replayed on a baseline.

Nothing waits for real days: a journey's own clock is moved forward by the server's
per-workflow time skipping (`TimeSkipper.fast_forward`), exactly where a person would wait
for a date (the consult slot, the visit day, each follow-up). Every move of the clock, every
read of it and every update is recorded as an `Action`, and the baseline replays that list.
"""

import asyncio
import contextlib
import functools
import heapq
import json
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, Literal, TypeVar

import asyncpg
import httpx
from temporalio.client import Client, WorkflowExecutionStatus, WorkflowHandle
from temporalio.service import RPCError, RPCStatusCode
from temporalio.testing import TimeSkipper

from api.routes.webhooks import sign
from api.tokens import mint_staff_token
from bench.baseline import BaselineJourney, child_workflow_id
from bench.baseline_models import BaselinePlan, BaselineStatus, BaselineStep
from db.journey_queries import JourneyQueries
from domain.actors import Role
from domain.names import follow_up_workflow_id, journey_workflow_id
from domain.policy import JourneyPolicy
from patient_links import mint_patient_link
from settings import Settings
from tests.helpers import valid_form

T = TypeVar("T")

# Where a person waits for a date, the clock goes this far past it: enough for the baseline,
# which replays the same moves, to reach its own timers a few real seconds later.
PAST_THE_DATE = timedelta(minutes=10)
# A follow-up consult is booked this long after its times are offered: a move of the clock that
# ends a few milliseconds before one of the run's own timers leaves that timer unfired until
# much later (seen with server 1.32's experimental time skipping), and the offer is on the
# follow-up calendar's own dates.
AFTER_THE_OFFER = timedelta(hours=1)
# A booked follow-up consult's outcome is sent this long after it starts. Not PAST_THE_DATE:
# the year's calendar falls at the discharge's time of day, PAST_THE_DATE after the hour, so a
# move to that long after a consult on the hour would end just before one of its timers.
INTO_THE_CONSULT = timedelta(minutes=5)
POLL_SECONDS = 0.1
# How long one status read may wait for the journey to move (the API allows up to 50 s).
STATUS_WAIT_SECONDS = 30
SETTLE_SECONDS = 0.05
STEP_TIMEOUT = 300.0
# A run has done its first workflow task once its history holds started, scheduled, started
# and completed.
FIRST_TASK_DONE = 4

STAFF_IDS = {
    Role.COORDINATOR: "demo-coordinator",
    Role.REVIEWER: "demo-reviewer",
    Role.SPECIALIST: "demo-specialist",
    Role.AUDITOR: "demo-auditor",
}


def inquiry_form(n: int) -> dict[str, Any]:
    """A valid submission; the name and address vary so no two are the same request."""
    return valid_form(full_name=f"Ana García {n}", email=f"ana.garcia.{n}@example.org")


@dataclass(frozen=True)
class Action:
    """One thing the people did to a run: an update, a read of its clock, a move of it."""

    kind: Literal["update", "clock", "advance"]
    target: Literal["parent", "child"]
    seconds: float = 0.0


@dataclass
class DriveResult:
    workflow_id: str
    seconds: float
    script: list[Action] = field(default_factory=list)
    requests: int = 0
    polls: int = 0
    # Wall seconds spent waiting in each kind of call: where a run's time goes.
    waits: dict[str, float] = field(default_factory=dict)

    @contextlib.contextmanager
    def waiting(self, kind: str) -> Iterator[None]:
        started = time.monotonic()
        try:
            yield
        finally:
            self.waits[kind] = self.waits.get(kind, 0.0) + time.monotonic() - started


async def until_found(call: Callable[[], Awaitable[T]], within: float = STEP_TIMEOUT) -> T:
    """Call until the run exists: a child is started a moment after the step that opens it."""
    deadline = time.monotonic() + within
    while True:
        try:
            return await call()
        except RPCError as err:
            gone = "already completed" in str(err)
            if err.status != RPCStatusCode.NOT_FOUND or gone or time.monotonic() > deadline:
                raise
        await asyncio.sleep(POLL_SECONDS)


class Clock:
    """A run's own clock, moved by the server's per-workflow time skipping.

    Before each move the run must be at rest (no workflow task or activity in flight, its
    first workflow task done): a timer the run starts after the move began is measured from
    the moved clock and ends just past the move's target, and the server then leaves it
    unfired until the next move (seen with server 1.32's experimental time skipping).
    """

    def __init__(self, client: Client, skipper: TimeSkipper, result: DriveResult) -> None:
        self.client, self.skipper, self.result = client, skipper, result
        self.script = result.script

    def _handle(self, workflow_id: str) -> WorkflowHandle[Any, Any]:
        return self.client.get_workflow_handle(workflow_id)

    async def now(self, workflow_id: str, target: Literal["parent", "child"]) -> datetime:
        self.script.append(Action("clock", target))
        with self.result.waiting("clock read"):
            return await until_found(
                lambda: self.skipper.get_current_time(self._handle(workflow_id))
            )

    async def settle(self, workflow_id: str) -> None:
        deadline = time.monotonic() + STEP_TIMEOUT
        while True:
            described = await until_found(lambda: self._handle(workflow_id).describe())
            raw = described.raw_description
            busy = (
                raw.HasField("pending_workflow_task")
                or len(raw.pending_activities) > 0
                or (described.history_length or 0) < FIRST_TASK_DONE
            )
            if not busy or described.status != WorkflowExecutionStatus.RUNNING:
                return
            if time.monotonic() > deadline:
                raise RuntimeError(f"{workflow_id} did not come to rest")
            await asyncio.sleep(SETTLE_SECONDS)

    async def advance(
        self, workflow_id: str, target: Literal["parent", "child"], by: timedelta | None
    ) -> None:
        """Move the run's clock `by` forward; None: skip every timer until the run ends."""
        self.script.append(Action("advance", target, by.total_seconds() if by else 0.0))
        try:
            with self.result.waiting("waiting for the run to rest"):
                await self.settle(workflow_id)
            with self.result.waiting("clock move"):
                await until_found(lambda: self.skipper.fast_forward(self._handle(workflow_id), by))
        except RPCError as err:
            # The run ended before its clock got there: nothing left to move.
            if "already completed" not in str(err):
                raise


class JourneyActors:
    """Patient, reviewer, specialist, coordinator and clinic of one journey, through the API."""

    def __init__(
        self,
        *,
        http: httpx.AsyncClient,
        settings: Settings,
        client: Client,
        skipper: TimeSkipper,
        pool: asyncpg.Pool,
        n: int,
    ) -> None:
        self.http, self.settings, self.client, self.pool, self.n = http, settings, client, pool, n
        self.result = DriveResult(workflow_id="", seconds=0.0)
        self.clock = Clock(client, skipper, self.result)
        self.policy = JourneyPolicy()  # what the API starts every journey with
        self.jid = ""
        self._patient: dict[str, str] = {}

    def staff(self, role: Role) -> dict[str, str]:
        token = mint_staff_token(self.settings, subject=STAFF_IDS[role], name=role.value, role=role)
        return {"Authorization": f"Bearer {token}"}

    async def _request(
        self, method: str, path: str, *, headers: dict[str, str], body: dict[str, Any] | None
    ) -> httpx.Response:
        self.result.requests += 1
        with self.result.waiting("status read" if method == "GET" else "step (HTTP)"):
            if method == "GET":
                answer = await self.http.get(path, headers=headers)
            else:
                answer = await self.http.post(path, headers=headers, json=body)
        if answer.status_code >= 300:
            raise RuntimeError(f"{method} {path}: {answer.status_code} {answer.text[:300]}")
        return answer

    async def _send(
        self,
        method: str,
        path: str,
        *,
        headers: dict[str, str],
        body: dict[str, Any] | None = None,
        step: Literal["parent", "child"] | None = None,
    ) -> Any:
        answer = await self._request(method, path, headers=headers, body=body)
        if step is not None:
            self.result.script.append(Action("update", step))
        return answer.json()

    async def reach(self, stage: str, waiting_on: str | None = None) -> dict[str, Any]:
        """Read the journey (as a coordinator's screen would) until it is at `stage`: each
        read after the first waits for the journey to move past the version last seen."""
        deadline = time.monotonic() + STEP_TIMEOUT
        path = f"/api/v1/journeys/{self.jid}"
        while True:
            answer = await self._request(
                "GET", path, headers=self.staff(Role.COORDINATOR), body=None
            )
            status: dict[str, Any] = answer.json()
            if status["stage"] == stage and waiting_on in (None, status["waiting_on"]):
                return status
            if time.monotonic() > deadline:
                raise RuntimeError(f"journey {self.jid} stuck at {status['stage']}, not {stage}")
            self.result.polls += 1
            version = answer.headers["Journey-Version"]
            path = f"/api/v1/journeys/{self.jid}?after={version}&wait={STATUS_WAIT_SECONDS}"

    async def _clinic(self, kind: str, **payload: Any) -> None:
        body = json.dumps(
            {"event_id": str(uuid.uuid4()), "journey_id": self.jid, "type": kind, **payload}
        ).encode()
        secret = self.settings.clinic_webhook_secret.get_secret_value()
        self.result.requests += 1
        with self.result.waiting("step (HTTP)"):
            answer = await self.http.post(
                "/api/v1/webhooks/clinic",
                content=body,
                headers={
                    "content-type": "application/json",
                    "X-Clinic-Signature": sign(secret, int(time.time()), body),
                },
            )
        if answer.status_code != 200:
            raise RuntimeError(f"clinic {kind}: {answer.status_code} {answer.text[:300]}")
        self.result.script.append(Action("update", "parent"))

    async def run(self) -> DriveResult:
        started = time.monotonic()
        await self._intake()
        await self._validation()
        await self._teleconsult()
        await self._plan_and_travel()
        await self._treatment()
        await self._follow_up_year()
        with self.result.waiting("the end"):
            await self.client.get_workflow_handle(journey_workflow_id(self.jid)).result()
        self.result.seconds = time.monotonic() - started
        return self.result

    async def _intake(self) -> None:
        accepted = await self._send(
            "POST",
            "/api/v1/inquiries",
            headers={"Idempotency-Key": f"bench-{uuid.uuid4()}"},
            body=inquiry_form(self.n),
        )
        self.jid = accepted["journey_id"]
        self.result.workflow_id = journey_workflow_id(self.jid)
        async with self.pool.acquire() as conn:
            patient_id = await JourneyQueries(conn).patient_id(journey_id=self.jid)
        assert patient_id is not None, f"journey {self.jid} has no patient"
        token = mint_patient_link(self.settings, journey_id=self.jid, patient_id=patient_id)
        self._patient = {"Authorization": f"Bearer {token}"}

    async def _validation(self) -> None:
        await self.reach("VALIDATION", "reviewer")
        # A reviewer reaches the case once its records say it is in validation, which an
        # activity writes a moment after the journey entered it.
        deadline = time.monotonic() + STEP_TIMEOUT
        while True:
            async with self.pool.acquire() as conn:
                stage = await JourneyQueries(conn).stage(journey_id=self.jid)
            if stage == "VALIDATION" or time.monotonic() > deadline:
                break
            self.result.polls += 1
            await asyncio.sleep(POLL_SECONDS)
        await self._send(
            "POST",
            f"/api/v1/journeys/{self.jid}/review",
            headers=self.staff(Role.REVIEWER),
            body={"outcome": "approve"},
            step="parent",
        )

    async def _teleconsult(self) -> None:
        base = f"/api/v1/journeys/{self.jid}"
        await self.reach("TELECONSULT", "patient")
        slots = await self._send("GET", f"{base}/consult/slots", headers=self._patient)
        slot = slots[0]
        await self._send(
            "POST",
            f"{base}/consult/booking",
            headers=self._patient,
            body={"slot_id": slot["slot_id"]},
            step="parent",
        )
        wid = journey_workflow_id(self.jid)
        starts_at = datetime.fromisoformat(slot["starts_at"])
        now = await self.clock.now(wid, "parent")
        await self.clock.advance(wid, "parent", starts_at - now + PAST_THE_DATE)
        await self._send(
            "POST",
            f"{base}/consult/outcome",
            headers=self.staff(Role.SPECIALIST),
            body={"eligible": True, "plan": {"price": "24500.00", "currency": "EUR"}},
            step="parent",
        )

    async def _plan_and_travel(self) -> None:
        base = f"/api/v1/journeys/{self.jid}"
        wid = journey_workflow_id(self.jid)
        await self._send(
            "POST",
            f"{base}/plan/decision",
            headers=self._patient,
            body={"accept": True},
            step="parent",
        )
        arrival: date = (await self.clock.now(wid, "parent") + timedelta(days=30)).date()
        await self._send(
            "POST",
            f"{base}/travel",
            headers=self._patient,
            body={
                "arrival_date": arrival.isoformat(),
                "departure_date": (arrival + timedelta(days=4)).isoformat(),
                "arrival_flight": "IB3170",
                "needs_visa": True,
            },
            step="parent",
        )
        await self.reach("TRAVEL", "coordinator")
        await self._send(
            "POST",
            f"{base}/clinic/confirmation",
            headers=self.staff(Role.COORDINATOR),
            body={"confirmed": True, "clinic_reference": f"CL-{self.n}"},
            step="parent",
        )
        # The hotel and the transfer company confirm their bookings, as a coordinator records,
        # once the booked trip takes their confirmations.
        deadline = time.monotonic() + STEP_TIMEOUT
        while not (await self.reach("TRAVEL"))["confirms_partners"]:
            if time.monotonic() > deadline:
                raise RuntimeError(f"journey {self.jid} takes no partners' confirmations")
            self.result.polls += 1
            await asyncio.sleep(POLL_SECONDS)
        for booking in ("hotel", "transfer"):
            await self._send(
                "POST",
                f"{base}/partners/confirmation",
                headers=self.staff(Role.COORDINATOR),
                body={"booking": booking, "reference": f"P-{self.n}", "confirmed_by": "front desk"},
                step="parent",
            )
        day1 = datetime.combine(arrival + timedelta(days=1), datetime.min.time(), tzinfo=UTC)
        day1 += timedelta(hours=8)
        now = await self.clock.now(wid, "parent")
        await self.clock.advance(wid, "parent", day1 - now + PAST_THE_DATE)

    async def _treatment(self) -> None:
        await self.reach("TREATMENT", "clinic")
        await self._clinic("admission")
        await self._clinic(
            "procedure",
            procedure={"cells_given": 150_000_000, "minutes": 45, "lot": f"LOT-{self.n}"},
        )
        await self._clinic("discharge")

    async def _follow_up_year(self) -> None:
        """A check-in every week; each follow-up consult booked once its times are offered,
        and its outcome recorded once it has started (as the people of `tests/journeys.py`
        do); then the clock past the year's last reminder."""
        status = await self.reach("FOLLOW_UP")
        discharged = datetime.fromisoformat(status["transitions"][-1]["entered_at"])
        p = self.policy
        due: list[tuple[datetime, str, int]] = [
            (discharged + w * p.rehab_checkin_every - timedelta(days=1), "checkin", w)
            for w in range(1, p.rehab_weeks + 1)
        ] + [
            (discharged + off - p.follow_up_offer_before + AFTER_THE_OFFER, "book", n)
            for n, off in enumerate(p.follow_up_offsets, 1)
        ]
        heapq.heapify(due)
        child = follow_up_workflow_id(self.jid)
        base = f"/api/v1/journeys/{self.jid}"
        while due:
            at, what, n = heapq.heappop(due)
            wait = at - await self.clock.now(child, "child")
            if wait > timedelta(0):
                await self.clock.advance(child, "child", wait)
            if what == "checkin":
                await self._send(
                    "POST",
                    f"{base}/rehab-checkins",
                    headers=self._patient,
                    body={"week": n, "walking_hours_per_day": 6.5, "days_per_week": 6},
                    step="child",
                )
            elif what == "book":
                starts_at = await self._book_follow_up(n)
                heapq.heappush(due, (starts_at + INTO_THE_CONSULT, "outcome", n))
            else:
                await self._send(
                    "POST",
                    f"{base}/follow-ups/{n}/outcome",
                    headers=self.staff(Role.SPECIALIST),
                    body={
                        "ais_grade": "C",
                        "uems": 30,
                        "lems": 12,
                        "light_touch": 80,
                        "pin_prick": 70,
                    },
                    step="child",
                )
        # Then the year's last reminders and checks, to the child's end.
        await self.clock.advance(child, "child", None)

    async def _offered(self, n: int) -> list[dict[str, Any]]:
        """The times offered for follow-up consult `n`, once the year has offered them (it
        does a moment after the clock passed the day)."""
        deadline = time.monotonic() + STEP_TIMEOUT
        path = f"/api/v1/journeys/{self.jid}/follow-ups"
        while True:
            answer = await self._request("GET", path, headers=self._patient, body=None)
            consult = next((c for c in answer.json()["consults"] if c["number"] == n), None)
            if consult is not None and consult["offered"]:
                offered: list[dict[str, Any]] = consult["offered"]
                return offered
            if time.monotonic() > deadline:
                raise RuntimeError(f"journey {self.jid}: no times offered for follow-up {n}")
            self.result.polls += 1
            await asyncio.sleep(POLL_SECONDS)

    async def _book_follow_up(self, n: int) -> datetime:
        """The patient books the first time offered for follow-up consult `n` that is still
        free (journeys run side by side share the specialists); when it starts."""
        path = f"/api/v1/journeys/{self.jid}/follow-ups/{n}/booking"
        for slot in sorted(await self._offered(n), key=lambda s: s["starts_at"]):
            self.result.requests += 1
            with self.result.waiting("step (HTTP)"):
                answer = await self.http.post(
                    path, headers=self._patient, json={"slot_id": slot["slot_id"]}
                )
            if answer.status_code == 409 and answer.json().get("code") == "slot_gone":
                continue
            if answer.status_code >= 300:
                raise RuntimeError(f"POST {path}: {answer.status_code} {answer.text[:300]}")
            self.result.script.append(Action("update", "child"))
            return datetime.fromisoformat(slot["starts_at"])
        raise RuntimeError(f"journey {self.jid}: every time offered for follow-up {n} was taken")


async def drive_baseline(
    *,
    client: Client,
    skipper: TimeSkipper,
    task_queue: str,
    plan: BaselinePlan,
    script: list[Action],
) -> DriveResult:
    """One baseline run, moved by the same actions a journey's people took, in order."""
    started = time.monotonic()
    workflow_id = f"baseline-{uuid.uuid4()}"
    handle = await client.start_workflow(
        BaselineJourney.run, plan, id=workflow_id, task_queue=task_queue
    )
    ids = {"parent": workflow_id, "child": child_workflow_id(workflow_id)}
    result = DriveResult(workflow_id=workflow_id, seconds=0.0)
    clock = Clock(client, skipper, result)
    for n, action in enumerate(script):
        target = ids[action.target]
        if action.kind == "update":
            step = BaselineStep(actor_id=f"actor-{n}", role="patient", n=n)
            update = functools.partial(
                client.get_workflow_handle(target).execute_update,
                "step",
                step,
                result_type=BaselineStatus,
            )
            with result.waiting("step (update)"):
                await until_found(update)
            result.script.append(action)
        elif action.kind == "clock":
            await clock.now(target, action.target)
        else:
            by = timedelta(seconds=action.seconds) if action.seconds else None
            await clock.advance(target, action.target, by)
    with result.waiting("the end"):
        await handle.result()
    result.seconds = time.monotonic() - started
    return result
