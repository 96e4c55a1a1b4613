"""Intake: store an inquiry and start its journey, once per Idempotency-Key."""

import hashlib
from datetime import timedelta
from typing import Any

import asyncpg
from fastapi import Request
from fastapi.exceptions import RequestValidationError
from temporalio.client import Client
from temporalio.common import (
    SearchAttributePair,
    TypedSearchAttributes,
    WorkflowIDConflictPolicy,
    WorkflowIDReusePolicy,
)
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError

from db.intake import IntakeRepository, StoredInquiry
from domain.inquiry import InquiryForm
from domain.journey import JourneyInput
from domain.names import INCIDENT, JOURNEY_STAGE, case_page_url, journey_workflow_id
from domain.policy import JourneyPolicy
from domain.stages import Stage
from settings import Settings
from workflows.journey import PatientJourney

FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
# Browsers cannot set headers on a plain form post, so the form page carries the key itself.
FORM_IDEMPOTENCY_FIELD = "idempotency_key"
MAX_KEY_LENGTH = 200

# The form's hidden field naming the language it was shown in.
LANGUAGE_FIELD = "lang"


class JourneyStartDeferred(Exception):
    """The inquiry is stored but Temporal did not answer: the same key sent again, or the
    API's sweep of unstarted inquiries (`start_unstarted`), starts its journey."""

    def __init__(self, stored: StoredInquiry) -> None:
        super().__init__(stored.journey_id)
        self.stored = stored


def form_fields(raw: dict[str, Any]) -> dict[str, Any]:
    """A form post's fields as the inquiry model reads them."""
    data = {
        k: v for k, v in raw.items() if not (isinstance(v, str) and v == "" and k == "time_zone")
    }
    # An unticked checkbox sends nothing; that is a refusal, not a missing field.
    consent = data.get("consent_health_data")
    data["consent_health_data"] = consent in ("on", "true", "1", "yes")
    return data


def idempotency_key_of(header: str | None, form_value: Any) -> str | None:
    key = header if header is not None else form_value
    if key is None:
        return None
    key = str(key).strip()
    if not key or len(key) > MAX_KEY_LENGTH or not key.isprintable():
        raise RequestValidationError(
            [{"loc": ("header", "Idempotency-Key"), "msg": "must be 1 to 200 printable characters"}]
        )
    return key


def request_hash(form: InquiryForm) -> str:
    """A fingerprint of the submission's content, whatever encoding it arrived in."""
    # Left out when not given, so a submission keeps the fingerprint it had before the field
    # existed (a retry across the upgrade is not a different body).
    unset = {"consent_language"} if form.consent_language is None else None
    return hashlib.sha256(form.model_dump_json(exclude=unset).encode()).hexdigest()


async def start_journey(
    client: Client,
    *,
    stored: StoredInquiry,
    task_queue: str,
    policy: JourneyPolicy,
    console_base_url: str = "",
) -> None:
    """Start the journey's workflow; starting it again is a no-op.

    USE_EXISTING makes a repeated start of a running journey return it, and a journey that
    already ended raises WorkflowAlreadyStartedError, which means the same: it exists.
    """
    try:
        await client.start_workflow(
            PatientJourney.run,
            JourneyInput(
                journey_id=stored.journey_id,
                patient_id=stored.patient_id,
                inquiry_id=stored.inquiry_id,
                policy=policy,
                case_page_url=case_page_url(console_base_url, stored.journey_id),
            ),
            id=journey_workflow_id(stored.journey_id),
            task_queue=task_queue,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
            # `Incident` is empty rather than unset, so "no incident" is one query for either.
            search_attributes=TypedSearchAttributes(
                [
                    SearchAttributePair(JOURNEY_STAGE, Stage.INQUIRY.value),
                    SearchAttributePair(INCIDENT, ""),
                ]
            ),
            static_summary=f"Patient journey {stored.journey_id}",
            static_details=(
                "Stem-cell therapy journey for spinal cord injury: validation, case manager, "
                "teleconsultation, plan, travel, two-day treatment visit, 12 months of follow-up. "
                "Patient details are in the records database, never here."
            ),
        )
    except WorkflowAlreadyStartedError:
        return


async def accept_inquiry(
    request: Request,
    *,
    pool: asyncpg.Pool,
    client: Client,
    settings: Settings,
    form: InquiryForm,
    idempotency_key: str | None,
) -> StoredInquiry:
    """Store an inquiry posted to the API or the form page, with the sender's address and
    browser beside it, and start its journey. The same key again returns what it stored."""
    async with pool.acquire() as conn:
        stored = await IntakeRepository(conn).store(
            form=form,
            idempotency_key=idempotency_key,
            request_hash=request_hash(form),
            source_address=request.client.host if request.client else None,
            user_agent=request.headers.get("user-agent"),
            consent_language=form.consent_language,
        )
    # Started for a repeated key too: if the first request stored the records and then lost
    # Temporal, the repeat is what starts the journey.
    try:
        await start_journey(
            client,
            stored=stored,
            task_queue=settings.task_queue,
            policy=settings.journey_policy(),
            console_base_url=settings.public_base_url,
        )
    except RPCError as err:
        raise JourneyStartDeferred(stored) from err
    return stored


async def start_unstarted(
    *,
    pool: asyncpg.Pool,
    client: Client,
    task_queue: str,
    older_than: timedelta,
    console_base_url: str = "",
    policy: JourneyPolicy | None = None,
) -> int:
    """Start the journeys of inquiries that were stored but whose start was lost.

    The API stores an inquiry before starting its workflow; if Temporal was unreachable, or
    the process died in between, and the sender never retried, this picks the journey up.
    Starting is idempotent, so API replicas may run it at the same time.
    """
    async with pool.acquire() as conn:
        pending = await IntakeRepository(conn).unstarted(older_than=older_than)
    for stored in pending:
        await start_journey(
            client,
            stored=stored,
            task_queue=task_queue,
            policy=policy or JourneyPolicy(),
            console_base_url=console_base_url,
        )
    return len(pending)
