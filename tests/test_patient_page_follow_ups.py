"""A patient books her follow-up consultation on her page, in a real browser: Debian's chromium
at 360 pixels wide, speaking Spanish, against the app served on loopback, a worker and
Temporal's time-skipping server behind it. The journey reaches the follow-up year through the
journey driver; from the email offering the times on, the patient acts through the page alone."""

import re
import uuid
from datetime import timedelta

import asyncpg
import pytest
from playwright.async_api import Page, expect

from tests.journeys import JourneyDriver
from tests.patient_pages import PatientPage, outcome
from tests.test_api_follow_ups import follow_up_bookings, take_the_time

pytestmark = pytest.mark.usefixtures("worker")


async def test_a_patient_books_and_moves_her_follow_up_consultation_on_her_page(
    phone: Page, patient_page: PatientPage, driver: JourneyDriver, pool: asyncpg.Pool
) -> None:
    j = driver
    await j.start()  # the form's patient: Spanish, in Europe/Madrid
    await j.book_and_treat()
    p = j.policy
    await j.sleep(p.follow_up_offsets[0] - p.follow_up_offer_before + timedelta(hours=1))
    offered = await j.offered(1)
    slots = sorted(offered.offered, key=lambda s: s.starts_at)

    await patient_page.open_emailed("follow-up-consult-1-slots-1")
    section = phone.get_by_role(
        "region",
        name="Elija una hora para su consulta de seguimiento 1 (2 semanas después del tratamiento)",
    )
    times = section.get_by_role("group", name=re.compile("Horas disponibles"))
    await expect(times.get_by_role("radio")).to_have_count(len(slots))
    await expect(times).to_contain_text("(Europe/Madrid)")
    await expect(section).to_contain_text("Elija antes del")
    await patient_page.check("follow-up-times")

    # The first time is taken by another patient while she reads: refused, nothing booked.
    await take_the_time(pool, slots[0])
    await times.get_by_role("radio").first.check()
    await section.get_by_role("button", name="Reservar esta hora").click()
    said = await outcome(phone)
    assert "No se ha hecho: no se ha cambiado nada." in said
    assert "Otra persona acaba de ocupar esa hora." in said
    await patient_page.check("follow-up-time-taken")
    assert await follow_up_bookings(pool, j.journey_id) == {}

    await times.get_by_role("radio").nth(1).check()
    await section.get_by_role("button", name="Reservar esta hora").click()
    said = await outcome(phone)
    assert "Su consulta de seguimiento 1 está reservada para el" in said
    booked = phone.get_by_role(
        "region",
        name="Su consulta de seguimiento 1 (2 semanas después del tratamiento)",
    )
    await expect(booked).to_contain_text("Está reservada para el")
    await expect(phone.get_by_role("region", name="Lo que tiene reservado")).to_contain_text(
        "Consulta de seguimiento 1:"
    )
    await patient_page.check("follow-up-booked")
    assert await follow_up_bookings(pool, j.journey_id) == {"follow-up-1-1": "active"}

    # It no longer suits her: the booking is cancelled and new times are offered at once.
    await booked.get_by_role("button", name="Pedir otra hora").click()
    said = await outcome(phone)
    assert "Otras horas para su consulta de seguimiento 1" in said
    assert "Elija una nueva hora más abajo" in said
    times = phone.get_by_role("group", name=re.compile("Horas disponibles"))
    await expect(times.get_by_role("radio").first).to_be_visible()
    await patient_page.check("follow-up-new-times")
    await times.get_by_role("radio").first.check()
    await phone.get_by_role("button", name="Reservar esta hora").click()
    assert "Su consulta de seguimiento 1 está reservada para el" in await outcome(phone)
    await patient_page.snap("follow-up-booked-again")
    assert await follow_up_bookings(pool, j.journey_id) == {
        "follow-up-1-1": "cancelled",
        "follow-up-1-2": "active",
    }
    steps = await pool.fetch(
        "SELECT action FROM audit_log WHERE journey_id = $1 AND actor_role = 'patient' "
        "AND action LIKE 'POST %' ORDER BY seq",
        uuid.UUID(j.journey_id),
    )
    assert [r["action"] for r in steps] == [
        "POST /my-journey/follow-up-booking",
        "POST /my-journey/follow-up-booking",
        "POST /my-journey/follow-up-reschedule",
        "POST /my-journey/follow-up-booking",
    ]
