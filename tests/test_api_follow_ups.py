"""The follow-up consults through the JSON API, against the real app, PostgreSQL and worker:
reading the times offered, booking one, moving it and recording a missed one, each by whom
its declaration allows; a follow-up not offered yet, a time not offered, a time taken
meanwhile by another patient, a specialist deactivated since: a clear refusal with its code,
and nothing booked."""

import uuid
from datetime import timedelta

import asyncpg
import httpx
import pytest

from db.bookings import BookingRepository
from db.staff import StaffRepository
from domain.actors import Role
from domain.records import Slot
from settings import Settings
from tests.api_people import link, staff
from tests.helpers import consult_request
from tests.journey_rows import store_inquiry
from tests.journeys import JourneyDriver

pytestmark = pytest.mark.usefixtures("worker")


async def follow_up_bookings(pool: asyncpg.Pool, jid: str) -> dict[str, str]:
    rows = await pool.fetch(
        "SELECT step, status FROM bookings WHERE journey_id = $1 AND step LIKE 'follow-up-%'",
        uuid.UUID(jid),
    )
    return {r["step"]: r["status"] for r in rows}


async def take_the_time(pool: asyncpg.Pool, slot: Slot) -> None:
    """Another patient's journey books the same specialist at the slot's time."""
    async with pool.acquire() as conn:
        other = (await store_inquiry(conn)).journey_id
    taken = Slot(
        slot_id=f"{other}:1:0",
        starts_at=slot.starts_at,
        ends_at=slot.ends_at,
        specialist_id=slot.specialist_id,
    )
    async with pool.acquire() as conn:
        repo = BookingRepository(conn)
        await repo.add_slots(journey_id=other, round_no=1, slots=[taken])
        await repo.book(request=consult_request(other, taken), booking_id=f"{other}:consult-1")


async def test_follow_up_consults_through_the_api(
    api: httpx.AsyncClient, settings: Settings, pool: asyncpg.Pool, driver: JourneyDriver
) -> None:
    j = driver
    await j.start()
    await j.book_and_treat()
    jid = j.journey_id
    base = f"/api/v1/journeys/{jid}"
    patient = link(settings, jid, j.patient.id)
    specialist = staff(settings, Role.SPECIALIST)

    # Before the first consult's times are offered: nothing to book, nothing booked.
    year = await api.get(f"{base}/follow-ups", headers=patient)
    assert year.status_code == 200, year.text
    assert year.json()["consults"] == []
    early = await api.post(f"{base}/follow-ups/1/booking", headers=patient, json={"slot_id": "x"})
    assert early.status_code == 409, early.text
    assert early.headers["content-type"] == "application/problem+json"
    assert early.json()["code"] == "follow_up_not_offered"
    assert early.json()["params"]["consult_no"] == 1
    assert early.json()["detail"].startswith("times for follow-up consult 1 are offered from ")
    none = await api.post(f"{base}/follow-ups/9/booking", headers=patient, json={"slot_id": "x"})
    assert none.status_code == 404
    assert await follow_up_bookings(pool, jid) == {}

    p = j.policy
    await j.sleep(p.follow_up_offsets[0] - p.follow_up_offer_before)
    offered = await j.offered(1)
    year = await api.get(f"{base}/follow-ups", headers=patient)
    [consult] = year.json()["consults"]
    assert consult["phase"] == "choosing"
    assert year.json()["expects"] == ["book_follow_up", "reschedule_follow_up"]
    assert [s["slot_id"] for s in consult["offered"]] == [s.slot_id for s in offered.offered]
    slots = sorted(offered.offered, key=lambda s: s.starts_at)

    # A time not offered; a time another patient took meanwhile; a time of a specialist who
    # left since: each refused with its code, and nothing booked.
    wrong = await api.post(
        f"{base}/follow-ups/1/booking", headers=patient, json={"slot_id": "not-offered"}
    )
    assert (wrong.status_code, wrong.json()["code"]) == (422, "slot_not_offered")
    await take_the_time(pool, slots[0])
    gone = await api.post(
        f"{base}/follow-ups/1/booking", headers=patient, json={"slot_id": slots[0].slot_id}
    )
    assert (gone.status_code, gone.json()["code"]) == (409, "slot_gone")
    assert gone.json()["detail"] == (
        "that time was taken meanwhile; choose another of the times offered"
    )
    async with pool.acquire() as conn:
        await StaffRepository(conn).set_active(staff_id="spec-1", active=False)
    left = await api.post(
        f"{base}/follow-ups/1/booking", headers=patient, json={"slot_id": slots[1].slot_id}
    )
    assert (left.status_code, left.json()["code"]) == (422, "specialist_inactive")
    async with pool.acquire() as conn:
        await StaffRepository(conn).set_active(staff_id="spec-1", active=True)
    assert await follow_up_bookings(pool, jid) == {}
    # Not the specialist's step, nor the patient's to record a no-show.
    assert (
        await api.post(f"{base}/follow-ups/1/booking", headers=specialist, json={"slot_id": "x"})
    ).status_code == 403
    assert (await api.post(f"{base}/follow-ups/1/no-show", headers=patient)).status_code == 403

    booked = await api.post(
        f"{base}/follow-ups/1/booking", headers=patient, json={"slot_id": slots[1].slot_id}
    )
    assert booked.status_code == 200, booked.text
    [consult] = booked.json()["consults"]
    assert consult["phase"] == "booked"
    assert consult["booking"]["booking_id"] == f"{jid}:follow-up-1-1"
    assert await follow_up_bookings(pool, jid) == {"follow-up-1-1": "active"}
    twice = await api.post(
        f"{base}/follow-ups/1/booking", headers=patient, json={"slot_id": slots[2].slot_id}
    )
    assert (twice.status_code, twice.json()["code"]) == (409, "slot_taken")

    # The specialist cannot mark it missed before it starts; a coordinator moves it for her.
    early_miss = await api.post(f"{base}/follow-ups/1/no-show", headers=specialist)
    assert (early_miss.status_code, early_miss.json()["code"]) == (409, "consult_not_started")
    moved = await api.post(
        f"{base}/follow-ups/1/reschedule", headers=staff(settings, Role.COORDINATOR)
    )
    assert moved.status_code == 200, moved.text
    [consult] = moved.json()["consults"]
    assert consult["phase"] == "choosing" and consult["booking"] is None
    assert await follow_up_bookings(pool, jid) == {"follow-up-1-1": "cancelled"}

    again = await j.book_follow_up(1)
    await j.sleep(again.starts_at - await j.now() + timedelta(minutes=10))
    missed = await api.post(f"{base}/follow-ups/1/no-show", headers=specialist)
    assert missed.status_code == 200, missed.text
    [consult] = missed.json()["consults"]
    assert (consult["phase"], consult["no_shows"]) == ("choosing", 1), "offered again"
    recorded = await api.post(
        f"{base}/follow-ups/1/outcome",
        headers=specialist,
        json={"ais_grade": "C", "uems": 30, "lems": 12, "light_touch": 80, "pin_prick": 70},
    )
    assert recorded.status_code == 200, recorded.text
    assert recorded.json()["outcomes_recorded"] == [1]
    closed = await api.post(
        f"{base}/follow-ups/1/booking",
        headers=patient,
        json={"slot_id": consult["offered"][0]["slot_id"]},
    )
    assert (closed.status_code, closed.json()["code"]) == (409, "follow_up_recorded")
