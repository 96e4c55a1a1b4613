"""Journeys made as their people make them through the API: the patient's inquiry, waiting
for its review; and a journey with a document, the reviewer asking for documents, a
coordinator uploading one, back to review."""

from typing import Any

import httpx

from domain.actors import Role
from settings import Settings
from tests.api_people import staff
from tests.helpers import eventually, valid_form


async def waiting_on(http: httpx.AsyncClient, settings: Settings, jid: str, who: str) -> None:
    """Until the journey waits on `who`, in its workflow and in the records the staff's reach
    is read from: those are written by an activity a moment after the journey moved."""
    coordinator = staff(settings, Role.COORDINATOR)

    async def status() -> dict[str, Any]:
        answer = await http.get(f"/api/v1/journeys/{jid}", headers=coordinator)
        body: dict[str, Any] = answer.json()
        return body

    async def listed() -> set[str]:
        answer = await http.get(
            "/api/v1/journeys", params={"waiting_on": who, "limit": 200}, headers=coordinator
        )
        return {item["journey_id"] for item in answer.json()["items"]}

    await eventually(
        status, until=lambda s: s.get("waiting_on") == who, what=f"{jid} waiting on {who}"
    )
    await eventually(listed, until=lambda ids: jid in ids, what=f"{jid} recorded waiting on {who}")


async def inquiry(http: httpx.AsyncClient, settings: Settings, **form: Any) -> str:
    """The journey of an inquiry (`valid_form` with `form`'s changes) sent through the API,
    once it waits on the reviewer."""
    answer = await http.post("/api/v1/inquiries", json=valid_form(**form))
    assert answer.status_code == 202, answer.text
    jid = str(answer.json()["journey_id"])
    await waiting_on(http, settings, jid, "reviewer")
    return jid


async def journey_with_document(
    http: httpx.AsyncClient,
    settings: Settings,
    *,
    filename: str,
    content: bytes,
    content_type: str,
    **form: Any,
) -> tuple[str, str]:
    """The journey's id and its document's, once the journey waits on the reviewer again."""
    jid = await inquiry(http, settings, **form)
    asked = await http.post(
        f"/api/v1/journeys/{jid}/review",
        headers=staff(settings, Role.REVIEWER),
        json={"outcome": "request_documents", "documents": ["discharge_summary"]},
    )
    assert asked.status_code == 200, asked.text
    await waiting_on(http, settings, jid, "patient")
    sent = await http.post(
        f"/api/v1/journeys/{jid}/documents",
        headers=staff(settings, Role.COORDINATOR),
        data={"kind": "discharge_summary"},
        files={"files": (filename, content, content_type)},
    )
    assert sent.status_code == 200, sent.text
    await waiting_on(http, settings, jid, "reviewer")
    listed = await http.get(
        f"/api/v1/journeys/{jid}/documents", headers=staff(settings, Role.REVIEWER)
    )
    (document,) = listed.json()
    return jid, str(document["document_id"])
