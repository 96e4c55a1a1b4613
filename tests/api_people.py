"""The people of the API tests: staff tokens, patient links from the emails, a signed clinic."""

import json
import re
import time
import uuid
from typing import Any

import httpx

from api.routes.webhooks import sign
from api.tokens import mint_staff_token
from domain.actors import Role
from patient_links import mint_patient_link
from settings import Settings
from tests.helpers import eventually, read_mailbox, text_of

STAFF_IDS = {
    Role.COORDINATOR: "coord-1",
    Role.REVIEWER: "rev-1",
    Role.SPECIALIST: "spec-1",
    Role.CASE_MANAGER: "cm-es",
    Role.MEDICAL_LEAD: "lead-1",
    Role.AUDITOR: "audit-1",
    Role.PRIVACY_OFFICER: "privacy-1",
    Role.STAFF_ADMIN: "staff-admin-1",
}


def staff(settings: Settings, role: Role) -> dict[str, str]:
    token = mint_staff_token(settings, subject=STAFF_IDS[role], name=role.value, role=role)
    return {"Authorization": f"Bearer {token}"}


def link(settings: Settings, journey_id: str, patient_id: str) -> dict[str, str]:
    token = mint_patient_link(settings, journey_id=journey_id, patient_id=patient_id)
    return {"Authorization": f"Bearer {token}"}


async def link_from_email(mail_dir: Any, journey_id: str) -> dict[str, str]:
    """The patient's link, as the patient finds it: in the last email they received."""

    async def newest_link() -> str | None:
        for message in reversed(read_mailbox(mail_dir)):
            if journey_id in message["Message-ID"] and "token=" in text_of(message):
                found = re.search(r"token=([\w.-]+)", text_of(message))
                return found.group(1) if found else None
        return None

    token = await eventually(newest_link, what="an email with a patient link")
    return {"Authorization": f"Bearer {token}"}


async def clinic_event(
    http: httpx.AsyncClient,
    settings: Settings,
    journey_id: str,
    kind: str,
    event_id: str | None = None,
    at: int | None = None,
    secret: str | None = None,
    **payload: Any,
) -> httpx.Response:
    body = json.dumps(
        {
            "event_id": event_id or str(uuid.uuid4()),
            "journey_id": journey_id,
            "type": kind,
            **payload,
        }
    ).encode()
    signature = sign(
        secret or settings.clinic_webhook_secret.get_secret_value(), at or int(time.time()), body
    )
    return await http.post(
        "/api/v1/webhooks/clinic",
        content=body,
        headers={"content-type": "application/json", "X-Clinic-Signature": signature},
    )
