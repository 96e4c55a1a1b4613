"""Shared test helpers: polling with a deadline, reading the mailbox, a valid form, what
production asks beyond its secrets, running the `journeys` command."""

import asyncio
import email
import email.policy
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Any, TypeVar

import temporalio.api.sdk.v1
from pydantic import SecretStr
from temporalio.client import WorkflowHandle, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError

from domain.incidents import Incident, IncidentAction, IncidentKind
from domain.records import BookingKind, BookingRequest, Slot
from domain.refusals import Refusal, refusal_from_details

T = TypeVar("T")

ROOT = Path(__file__).resolve().parent.parent


def journeys_command(
    *args: str, env: Mapping[str, str] | None = None, timeout: float = 180
) -> subprocess.CompletedProcess[str]:
    """`journeys ARGS` run in the project's folder, as a person runs it; `env` is its whole
    environment (this process's when None). Its output is captured as text."""
    return subprocess.run(
        [sys.executable, "-m", "cli", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


# What production asks beyond its secrets (settings.production_problems): an HTTPS address,
# the OIDC issuer's staff tokens, a CalDAV password of its own. A test that verifies tokens
# points the key set's address at an issuer of its own (tests/oidc_issuer.py).
PRODUCTION_READY: dict[str, Any] = {
    "public_base_url": "https://journeys.example.org",
    "oidc_jwks_url": "https://login.example.org/jwks.json",
    "oidc_issuer": "https://login.example.org/",
    "oidc_audience": "journeys-api",
    "caldav_password": SecretStr("a-calendar-password-of-the-tests-own"),
}


def production_environment() -> dict[str, str]:
    """PRODUCTION_READY as a command's environment takes it."""
    return {
        f"JOURNEYS_{name.upper()}": value.get_secret_value()
        if isinstance(value, SecretStr)
        else str(value)
        for name, value in PRODUCTION_READY.items()
    }


async def eventually(
    probe: Callable[[], Awaitable[T]],
    *,
    until: Callable[[T], bool] = bool,
    within: float = 15.0,
    what: str = "condition",
) -> T:
    """Poll `probe` until `until(result)` holds; fail with the last result after `within` s."""
    deadline = time.monotonic() + within
    last: Any = None
    while True:
        try:
            last = await probe()
            if until(last):
                return last
        except AssertionError:
            raise
        except Exception as err:
            last = err
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not reached within {within} s; last: {last!r}")
        await asyncio.sleep(0.05)


def read_mailbox(directory: Path) -> list[EmailMessage]:
    messages = []
    for path in sorted(directory.glob("*.eml")):
        msg = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        assert isinstance(msg, EmailMessage)
        messages.append(msg)
    return messages


def text_of(message: EmailMessage) -> str:
    return _body(message, "plain")


def html_of(message: EmailMessage) -> str:
    return _body(message, "html")


def _body(message: EmailMessage, subtype: str) -> str:
    part = message.get_body(preferencelist=(subtype,))
    assert part is not None
    content: str = part.get_content()  # type: ignore[attr-defined]
    return content


def valid_form(**overrides: Any) -> dict[str, Any]:
    form: dict[str, Any] = {
        "full_name": "Ana García",
        "email": "ana.garcia@example.org",
        "phone": "+34 600 123 456",
        "country": "ES",
        "preferred_language": "es",
        "time_zone": "Europe/Madrid",
        "injury_level": "T4",
        "injury_completeness": "incomplete",
        "injury_date": "2023-05-01",
        "injury_cause": "traffic",
        "medical_history": "Two years of rehabilitation; partial sensation below T6.",
        "consent_health_data": True,
        "consent_text_version": "2026-01",
    }
    form.update(overrides)
    return form


def retry_incident(kind: IncidentKind, step: str, since: datetime) -> Incident:
    """A journey's first incident, open since `since`, that staff can only retry."""
    return Incident(number=1, kind=kind, step=step, since=since, actions=(IncidentAction.RETRY,))


def consult_request(journey_id: str, slot: Slot) -> BookingRequest:
    """The journey's first video consultation, asked for at `slot` as the workflow asks."""
    return BookingRequest(
        journey_id=journey_id,
        step="consult-1",
        kind=BookingKind.CONSULT,
        starts_at=slot.starts_at,
        ends_at=slot.ends_at,
        slot_id=slot.slot_id,
    )


async def current_details(handle: WorkflowHandle[Any, Any]) -> str:
    """The workflow's current details, as the Temporal UI shows them."""
    metadata = await handle.query(
        "__temporal_workflow_metadata", result_type=temporalio.api.sdk.v1.WorkflowMetadata
    )
    return metadata.current_details


def refusal_of(err: BaseException) -> Refusal:
    """The coded refusal a journey's validator refused a step with."""
    assert isinstance(err, WorkflowUpdateFailedError), err
    cause = err.cause
    assert isinstance(cause, ApplicationError), cause
    refusal = refusal_from_details(cause.details)
    assert refusal is not None, f"a refusal without a code: {cause}"
    return refusal


def exam(consult_no: int) -> dict[str, Any]:
    """Follow-up consult `consult_no`'s scores on the clinical scales, a little better at each
    consult."""
    return {
        "ais_grade": "C",
        "uems": 20 + consult_no,
        "lems": 10 + consult_no,
        "light_touch": 60 + consult_no,
        "pin_prick": 50 + consult_no,
        "trunk_control": 3,
    }
