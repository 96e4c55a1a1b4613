"""Changing a booked trip's dates and confirming partners' requests through the API and the
partner's page, with real PostgreSQL, SMTP, the worker and Temporal's time-skipping server:
each step taken once, and bad input refused in the reader's language with nothing stored."""

import re
import uuid
from datetime import timedelta

import asyncpg
import httpx
import pytest

from api.patient_page.form_token import form_token
from db.partner_confirmations import PartnerConfirmationRepository
from domain.actors import Role
from domain.records import BookingKind
from domain.stages import Task
from partner_links import mint_partner_link
from settings import Settings
from tests.api_people import link, staff
from tests.helpers import eventually, read_mailbox, text_of
from tests.journeys import JourneyDriver
from tests.patient_pages import rows

pytestmark = pytest.mark.usefixtures("worker")

LINK = re.compile(r"/partner-confirmations/[\w-]+\?token=[\w.-]+")


async def _partner_link(j: JourneyDriver, step: str) -> str:
    """The confirmation page's address as the partner's email of `step` carries it."""

    async def find() -> str:
        for message in read_mailbox(j.mail_dir):
            if f"<{j.journey_id}.{step}@" in message["Message-ID"]:
                found = LINK.search(text_of(message))
                return found.group(0) if found else ""
        return ""

    return await eventually(find, what=f"the {step} email with its link")


def _form_token(page: str) -> str:
    found = re.search(r'name="form_token" value="([0-9a-f]+)"', page)
    assert found, "the page offers its form"
    return found.group(1)


@pytest.fixture
async def trip(driver: JourneyDriver) -> JourneyDriver:
    """A journey whose trip is booked, the hotel and the transfers not yet confirmed by their
    partners."""
    j = await driver.start()
    await j.book_the_trip(confirm_partners=False)
    return j


async def _confirmations(pool: asyncpg.Pool, journey_id: str) -> list[tuple[str, str, str]]:
    async with pool.acquire() as conn:
        found = await PartnerConfirmationRepository(conn).for_journey(journey_id=journey_id)
    return [(c.booking_id.rsplit(":", 1)[-1], c.reference, c.via) for c in found]


async def test_a_partner_confirms_through_its_link_once(
    api: httpx.AsyncClient, trip: JourneyDriver, pool: asyncpg.Pool, settings: Settings
) -> None:
    j = trip
    address = await _partner_link(j, "hotel-request")
    opened = await api.get(address, headers={"Accept-Language": "es"})
    assert opened.status_code == 200
    assert "Confirmar una solicitud de reserva" in opened.text
    assert "Ana" not in opened.text and "García" not in opened.text, "no patient on the page"
    form = {"form_token": _form_token(opened.text)}

    # A name too long and no reference: refused field by field, in Spanish; nothing stored.
    refused = await api.post(
        address, data=form | {"confirmed_by": "x" * 121}, headers={"Accept-Language": "es"}
    )
    assert refused.status_code == 422
    assert "Indique su referencia de reserva" in refused.text
    assert "Indique su nombre" in refused.text
    assert await rows(pool, "partner_confirmations", j.journey_id) == 0

    confirmed = await api.post(
        address,
        data=form | {"reference": "HX-4471", "confirmed_by": "Marta, front desk"},
        headers={"Accept-Language": "es"},
    )
    assert confirmed.status_code == 200, confirmed.text
    assert "Gracias: la reserva está confirmada." in confirmed.text
    status = await j.status()
    hotel = next(b for b in status.bookings if b.kind is BookingKind.HOTEL)
    assert hotel.confirmed
    assert await _confirmations(pool, j.journey_id) == [("hotel", "HX-4471", "link")]

    # The same link again: refused, in the reader's language, and nothing changed.
    again = await api.post(
        address, data=form | {"reference": "HX-9999", "confirmed_by": "Someone else"}
    )
    assert again.status_code == 409
    assert "This link has been used already" in again.text
    reopened = await api.get(address)
    assert "This link has been used already" in reopened.text
    assert 'name="reference"' not in reopened.text, "no form to send again"
    # Another link to the same booking (a reminder's): the booking is confirmed already.
    other = mint_partner_link(settings, journey_id=j.journey_id, booking_id=hotel.booking_id)
    other_address = f"/partner-confirmations/{j.journey_id}?token={other}"
    assert "This booking is confirmed already" in (await api.get(other_address)).text
    # Its form, opened before the first confirmation, sent after it.
    opened_before = form_token(settings, link_token=other, journey_id=j.journey_id)
    second = await api.post(
        other_address,
        data={"form_token": opened_before, "reference": "HX-1", "confirmed_by": "Night desk"},
    )
    assert second.status_code == 409
    assert "This booking is confirmed already" in second.text
    assert await _confirmations(pool, j.journey_id) == [("hotel", "HX-4471", "link")]
    # The audit log names the partner's link and the journey.
    audited = await pool.fetchval(
        """SELECT count(*) FROM audit_log WHERE journey_id = $1 AND actor_role = 'partner'""",
        uuid.UUID(j.journey_id),
    )
    assert audited >= 4


async def test_a_link_opened_for_another_journey_or_forged_changes_nothing(
    api: httpx.AsyncClient, trip: JourneyDriver, pool: asyncpg.Pool, settings: Settings
) -> None:
    j = trip
    address = await _partner_link(j, "transfer-request")
    token = address.partition("?token=")[2]
    form_token = _form_token((await api.get(address)).text)
    elsewhere = f"/partner-confirmations/{uuid.uuid4()}?token={token}"
    refused = await api.post(
        elsewhere,
        data={"form_token": form_token, "reference": "T-1", "confirmed_by": "Dispatch"},
        headers={"Accept-Language": "es"},
    )
    assert refused.status_code == 403
    assert "Este enlace corresponde a otra solicitud" in refused.text
    forged = await api.get(f"/partner-confirmations/{j.journey_id}?token={token[:-4]}AAAA")
    assert forged.status_code == 401
    assert "does not open a request" in forged.text
    # A patient's own link is no partner link.
    patient_token = link(settings, j.journey_id, j.patient.id)["Authorization"].split()[1]
    as_patient = await api.get(f"/partner-confirmations/{j.journey_id}?token={patient_token}")
    assert as_patient.status_code == 401
    assert await rows(pool, "partner_confirmations", j.journey_id) == 0
    assert not any(b.confirmed for b in (await j.status()).bookings)


async def test_a_coordinator_records_a_partners_answer_through_the_api_once(
    api: httpx.AsyncClient, trip: JourneyDriver, pool: asyncpg.Pool, settings: Settings
) -> None:
    j = trip
    url = f"/api/v1/journeys/{j.journey_id}/partners/confirmation"
    body = {"booking": "transfer", "reference": "TR-88", "confirmed_by": "Luis, dispatch"}
    answer = await api.post(url, json=body, headers=staff(settings, Role.COORDINATOR))
    assert answer.status_code == 200, answer.text
    assert [b["confirmed"] for b in answer.json()["bookings"] if b["kind"] == "transfer"] == [True]
    again = await api.post(url, json=body, headers=staff(settings, Role.COORDINATOR))
    assert again.status_code == 409
    assert again.json()["code"] == "partner_confirmed"
    patient = await api.post(url, json=body, headers=link(settings, j.journey_id, j.patient.id))
    assert patient.status_code == 403
    assert await _confirmations(pool, j.journey_id) == [("transfer", "TR-88", "console")]


async def test_new_dates_through_the_api_and_bad_ones_refused_with_nothing_stored(
    api: httpx.AsyncClient, driver: JourneyDriver, pool: asyncpg.Pool, settings: Settings
) -> None:
    j = await driver.start()
    await j.book_the_trip()
    url = f"/api/v1/journeys/{j.journey_id}/travel/change"
    patient = link(settings, j.journey_id, j.patient.id) | {"Accept-Language": "es"}
    today = (await j.now()).date()

    backwards = {
        "arrival_date": (today + timedelta(days=40)).isoformat(),
        "departure_date": (today + timedelta(days=38)).isoformat(),
    }
    answer = await api.post(url, json=backwards, headers=patient)
    assert answer.status_code == 422
    assert "the departure must be at least three days after the arrival" in answer.text
    too_soon = {
        "arrival_date": (today + timedelta(days=3)).isoformat(),
        "departure_date": (today + timedelta(days=7)).isoformat(),
    }
    answer = await api.post(url, json=too_soon, headers=patient)
    assert answer.status_code == 422, answer.text
    assert answer.json()["code"] == "arrival_too_soon"
    assert await rows(pool, "travel_records", j.journey_id) == 0, "nothing stored"

    fine = {
        "arrival_date": (today + timedelta(days=40)).isoformat(),
        "departure_date": (today + timedelta(days=44)).isoformat(),
        "arrival_flight": "IB6250",
        "needs_visa": True,
    }
    answer = await api.post(url, json=fine, headers=patient)
    assert answer.status_code == 200, answer.text
    assert (await j.status()).task in (Task.CHANGE_TRAVEL, Task.RECORD_CLINIC_ANSWER)
    await j.confirm_visit_if_asked()
    await eventually(j.status, until=lambda s: s.task is Task.TRAVEL_TO_CLINIC, what="booked")
    assert (await j.bookings())["hotel-change-1"] == "active"
    assert await rows(pool, "travel_records", j.journey_id) == 1

    await j.past_change_cutoff()
    later = {
        "arrival_date": (today + timedelta(days=60)).isoformat(),
        "departure_date": (today + timedelta(days=64)).isoformat(),
    }
    answer = await api.post(url, json=later, headers=staff(settings, Role.COORDINATOR))
    assert answer.status_code == 409
    assert answer.json()["code"] == "travel_change_closed"
    assert await rows(pool, "travel_records", j.journey_id) == 1, "the refused one removed"
