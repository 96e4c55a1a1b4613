"""The clinic's webhook: who its audit rows name, what a broken signature gets, and what a
captured request can still do when it is sent again."""

import json
import time
import uuid
from collections.abc import Callable
from datetime import timedelta

import asyncpg
import httpx
import pytest

from api.routes.webhooks import sign
from domain.stages import Stage
from domain.step_declarations import StepName
from settings import Settings
from tests.api_people import clinic_event
from tests.journeys import JourneyDriver

pytestmark = pytest.mark.usefixtures("worker")

WEBHOOK = "/api/v1/webhooks/clinic"


def _signed(settings: Settings, journey_id: str, kind: str) -> tuple[bytes, str]:
    """The body and signature header of one clinic event, as the clinic sends it."""
    body = json.dumps(
        {"event_id": str(uuid.uuid4()), "journey_id": journey_id, "type": kind}
    ).encode()
    secret = settings.clinic_webhook_secret.get_secret_value()
    return body, sign(secret, int(time.time()), body)


async def _send(http: httpx.AsyncClient, body: bytes, signature: str | bytes) -> httpx.Response:
    """The request as sent, its signature header's bytes as they are."""
    raw = signature.encode("latin-1") if isinstance(signature, str) else signature
    return await http.post(
        WEBHOOK,
        content=body,
        headers=[(b"content-type", b"application/json"), (b"x-clinic-signature", raw)],
    )


async def test_the_audit_row_names_the_clinic_and_the_journey(
    api: httpx.AsyncClient, settings: Settings, pool: asyncpg.Pool, driver: JourneyDriver
) -> None:
    await driver.start()
    await driver.reach(Stage.VALIDATION)
    refused = await clinic_event(api, settings, driver.journey_id, "admission")
    assert refused.status_code == 409, refused.text
    forged = await clinic_event(api, settings, driver.journey_id, "admission", secret="forged")
    assert forged.status_code == 401
    rows = await pool.fetch(
        "SELECT actor_id, actor_role, journey_id::text AS journey_id, detail::text AS detail "
        "FROM audit_log WHERE action = $1 ORDER BY seq",
        f"POST {WEBHOOK}",
    )
    assert [(r["actor_id"], r["actor_role"], r["journey_id"]) for r in rows] == [
        ("clinic-gateway", "clinic", driver.journey_id),
        # A forged signature is nobody's: the body it came with names no one.
        ("anonymous", "public", None),
    ]
    assert [json.loads(r["detail"])["status"] for r in rows] == [409, 401]


# Each within the window, so that what refuses it is the header's form: the bytes a client
# sends are read as Latin-1, and `hmac.compare_digest` raises on text that is not ASCII.
ACCENT = "\u00e9"
NOT_ASCII = {
    "accented digest": lambda now: f"t={now},v1={ACCENT}".encode("latin-1"),
    "accented digest of a digest's length": lambda now: f"t={now},v1={ACCENT * 64}".encode(
        "latin-1"
    ),
}


@pytest.mark.parametrize("header", NOT_ASCII.values(), ids=NOT_ASCII.keys())
async def test_a_signature_header_that_is_not_ascii_is_a_401(
    api: httpx.AsyncClient,
    settings: Settings,
    pool: asyncpg.Pool,
    header: Callable[[int], bytes],
) -> None:
    body, _ = _signed(settings, str(uuid.uuid4()), "admission")
    answer = await _send(api, body, header(int(time.time())))
    assert answer.status_code == 401, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.json()["detail"] == "the signature is malformed"
    assert await pool.fetchval("SELECT count(*) FROM clinic_events") == 0


async def test_a_replayed_refused_event_is_refused_again(
    api: httpx.AsyncClient, settings: Settings, pool: asyncpg.Pool, driver: JourneyDriver
) -> None:
    """An event the journey refused stays refused: the same signed request sent again, once
    the journey would take such an event, changes nothing; the clinic sends a new event."""
    await driver.start()
    await driver.reach(Stage.VALIDATION)
    body, signature = _signed(settings, driver.journey_id, "admission")
    first = await _send(api, body, signature)
    assert first.status_code == 409, first.text

    # The journey moves on to the clinic visit within the signature's window.
    await driver.approve()
    await driver.hold_consult()
    await driver.accept_plan()
    await driver.send_travel()
    await driver.sleep(timedelta(days=31))
    await driver.reach(Stage.TREATMENT)

    replayed = await _send(api, body, signature)
    assert replayed.status_code == 409, replayed.text
    assert replayed.json()["detail"] == first.json()["detail"]
    # Still waiting for the admission: the replay was not taken for one.
    assert StepName.ADMISSION in (await driver.status()).expects

    # The clinic's own new event is taken.
    event_id = str(uuid.uuid4())
    sent = await clinic_event(api, settings, driver.journey_id, "admission", event_id=event_id)
    assert sent.status_code == 200, sent.text
    assert sent.json() == {"event_id": event_id, "duplicate": False}
