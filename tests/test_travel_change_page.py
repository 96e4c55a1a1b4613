"""A patient changes her travel dates on her page, in a real browser: Debian's chromium at 360
pixels wide against the app served on loopback, a worker and Temporal's time-skipping server
behind it. Bad dates are refused in her language with nothing stored; good ones re-book the
trip; after the cutoff the page names whom to call."""

import re
from datetime import timedelta

import asyncpg
import pytest
from playwright.async_api import Page, expect

from domain.records import BookingKind
from domain.stages import Task
from i18n import format_day
from tests.helpers import eventually
from tests.journeys import JourneyDriver
from tests.patient_pages import PatientPage, outcome, rows

pytestmark = pytest.mark.usefixtures("worker")


async def _send_dates(phone: Page, arrival: str, departure: str) -> str:
    await phone.get_by_label("Nueva fecha de llegada").fill(arrival)
    await phone.get_by_label("Nueva fecha de salida").fill(departure)
    await phone.get_by_role("button", name="Cambiar mis fechas").click()
    return await outcome(phone)


async def test_a_patient_changes_her_dates_on_her_page(
    phone: Page, patient_page: PatientPage, driver: JourneyDriver, pool: asyncpg.Pool
) -> None:
    j = await driver.start()
    await j.book_the_trip(confirm_partners=False)
    await j.confirm_partner(BookingKind.HOTEL)
    today = (await j.now()).date()
    await patient_page.open()

    booked = phone.get_by_role("region", name="Lo que tiene reservado")
    await expect(booked).to_contain_text("(confirmado)")
    await expect(booked).to_contain_text("(pendiente de confirmación)")
    await expect(phone.get_by_role("heading", name="Cambiar sus fechas")).to_be_visible()
    await expect(phone.get_by_text("¿Ha cambiado su vuelo?")).to_be_visible()
    await patient_page.check("trip-booked-change-offered")

    # The departure before the arrival: refused beside the field, nothing stored.
    arrival = today + timedelta(days=40)
    said = await _send_dates(phone, arrival.isoformat(), (arrival - timedelta(days=2)).isoformat())
    assert "No se ha hecho: no se ha cambiado nada." in said
    assert "La salida debe ser al menos tres días después de la llegada" in said
    await expect(phone.get_by_label("Nueva fecha de salida")).to_have_attribute(
        "aria-invalid", "true"
    )
    await patient_page.check("change-refused-departure")
    # Dates past their own cutoff: the earliest arrival named, nothing stored.
    soon = today + timedelta(days=3)
    said = await _send_dates(phone, soon.isoformat(), (soon + timedelta(days=4)).isoformat())
    assert "La nueva llegada debe ser el" in said
    assert await rows(pool, "travel_records", j.journey_id) == 0

    said = await _send_dates(phone, arrival.isoformat(), (arrival + timedelta(days=5)).isoformat())
    assert "Gracias: estamos cambiando sus fechas." in said
    assert await rows(pool, "travel_records", j.journey_id) == 1
    await expect(phone.get_by_role("heading", name="Cambio de sus fechas")).to_be_visible()
    await patient_page.check("change-under-way")

    # The clinic confirms the new visit by email; a coordinator records it.
    await j.confirm_visit_if_asked()
    status = await eventually(
        j.status, until=lambda s: s.task is Task.TRAVEL_TO_CLINIC, what="the new dates booked"
    )
    await phone.reload()
    hotel = next(b for b in status.bookings if b.kind is BookingKind.HOTEL and not b.cancelled)
    await expect(booked).to_contain_text(format_day(hotel.starts_at, "es"))
    await expect(booked.get_by_text("(confirmado)")).to_have_count(0)
    await expect(phone.get_by_label("Nueva fecha de llegada")).to_have_value(arrival.isoformat())
    await patient_page.check("new-dates-booked")

    # After the cutoff the page no longer takes new dates: it names whom to call.
    await j.past_change_cutoff(timedelta(hours=1))
    await phone.reload()
    await expect(
        phone.get_by_text("Sus fechas podían cambiarse en esta página hasta")
    ).to_be_visible()
    await expect(
        phone.get_by_text(
            re.compile("Para cambiarlas ahora, llame o escriba a su gestor de caso, Lucía Romero")
        )
    ).to_be_visible()
    await expect(phone.get_by_role("button", name="Cambiar mis fechas")).to_have_count(0)
    await patient_page.check("change-closed")
