"""A document upload's large body is read only for someone who may upload to its journey: the
JSON API, the patient's page and the console alike. Anyone else's body is held to the small
cap before a byte of it is read."""

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
from fastapi import FastAPI
from playwright.async_api import FilePayload, Page
from starlette.types import Message

from api.tokens import mint_staff_token
from domain.actors import Role
from domain.stages import Stage
from patient_links import mint_patient_link
from settings import Settings
from tests.app_client import running_app
from tests.browser import ServedApp, sign_in_as
from tests.journeys import JourneyDriver
from tests.patient_pages import PDF

pytestmark = pytest.mark.usefixtures("worker")

BOUNDARY = "upload-boundary"
# Well past JOURNEYS_MAX_BODY_BYTES (64 KiB), well within JOURNEYS_MAX_UPLOAD_BYTES (10 MiB).
SCAN = PDF + b"0" * (2 * 1024 * 1024)


def _multipart(data: bytes) -> bytes:
    return (
        (
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="kind"\r\n\r\nmri\r\n'
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="files"; '
            'filename="scan.pdf"\r\nContent-Type: application/pdf\r\n\r\n'
        ).encode()
        + data
        + f"\r\n--{BOUNDARY}--\r\n".encode()
    )


@dataclass
class Sent:
    status: int
    read: int


async def _post(app: FastAPI, path: str, *, query: str = "", token: str | None = None) -> Sent:
    """One upload straight to the app, as a server hands it over: the headers first, the body
    only as the app asks for it, 64 KiB at a time. Says how much of it the app read."""
    body = _multipart(SCAN)
    headers = [
        (b"host", b"testserver"),
        (b"content-type", f"multipart/form-data; boundary={BOUNDARY}".encode()),
        (b"content-length", str(len(body)).encode()),
    ]
    if token is not None:
        headers.append((b"authorization", f"Bearer {token}".encode()))
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query.encode(),
        "root_path": "",
        "headers": headers,
        "client": ("127.0.0.1", 40000),
        "server": ("testserver", 80),
    }
    read = 0
    status = 0

    async def receive() -> Message:
        nonlocal read
        chunk = body[read : read + 65536]
        read += len(chunk)
        return {"type": "http.request", "body": chunk, "more_body": read < len(body)}

    async def send(message: Message) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]

    await app(scope, receive, send)
    return Sent(status, read)


@pytest.fixture
async def app(settings: Settings) -> AsyncIterator[FastAPI]:
    async with running_app(settings) as served:
        yield served


@pytest.fixture
async def in_validation(driver: JourneyDriver) -> JourneyDriver:
    """A journey started, waiting in validation (it asked for no documents yet)."""
    await driver.start()
    await driver.reach(Stage.VALIDATION)
    return driver


async def test_an_upload_is_not_read_before_its_caller_may_make_it(
    app: FastAPI, settings: Settings, in_validation: JourneyDriver
) -> None:
    jid = in_validation.journey_id
    reviewer = mint_staff_token(settings, subject="rev-1", name="Omar", role=Role.REVIEWER)
    another = mint_patient_link(settings, journey_id=str(uuid.uuid4()), patient_id="p-2")
    refused = {
        "nobody, on the API": await _post(app, f"/api/v1/journeys/{jid}/documents"),
        "a role that may not upload": await _post(
            app, f"/api/v1/journeys/{jid}/documents", token=reviewer
        ),
        "another journey's link": await _post(
            app, f"/api/v1/journeys/{jid}/documents", token=another
        ),
        "a broken link, on the page": await _post(
            app, "/my-journey/documents", query="token=not-a-link"
        ),
        "nobody, on the console": await _post(
            app, f"/staff/journeys/{jid}/actions/documents", query=""
        ),
    }
    for who, sent in refused.items():
        assert (sent.status, sent.read) == (413, 0), who


async def test_a_patient_with_their_link_sends_a_large_upload(
    app: FastAPI, settings: Settings, in_validation: JourneyDriver
) -> None:
    jid = in_validation.journey_id
    link = mint_patient_link(settings, journey_id=jid, patient_id=in_validation.patient.id)
    for sent in (
        await _post(app, f"/api/v1/journeys/{jid}/documents", token=link),
        await _post(app, "/my-journey/documents", query=f"token={link}"),
    ):
        # Read whole; the journey, which asked for no documents yet, is what refuses it.
        assert sent.read == len(_multipart(SCAN))
        assert sent.status in (403, 409), sent


async def test_a_signed_in_coordinator_sends_a_large_upload(
    page: Page, served_app: ServedApp, in_validation: JourneyDriver
) -> None:
    url = f"{served_app.url}/staff/journeys/{in_validation.journey_id}/actions/documents"
    files = FilePayload(name="scan.pdf", mimeType="application/pdf", buffer=SCAN)
    await sign_in_as(page, served_app.url, Role.COORDINATOR)
    # Without the form's CSRF token the console refuses it, having read it.
    signed_in = await page.request.post(url, multipart={"kind": "mri", "files": files})
    assert signed_in.status == 403
    await page.context.clear_cookies()
    signed_out = await page.request.post(url, multipart={"kind": "mri", "files": files})
    assert signed_out.status == 413
