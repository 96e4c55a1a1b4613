"""Refusals as codes (domain/refusals.py): every code has its English, its HTTP kind and words
on each surface, and the code crosses Temporal's failure encoding intact."""

import base64
import re
import string
from datetime import UTC, date, datetime

import pytest
from pydantic import SecretStr
from temporalio.api.failure.v1 import Failure
from temporalio.exceptions import ApplicationError

from api.patient_page.outcomes import REFUSALS as PATIENT_REFUSALS
from domain.actors import Role
from domain.errors import StepError
from domain.incidents import IncidentAction
from domain.refusal_codes import ENGLISH, KINDS, RefusalCode
from domain.refusals import STEP_ENGLISH, Refusal, RefusalParams, refusal_from_details
from domain.stages import Stage, WaitingOn
from domain.step_declarations import StepName
from integrations.data_converter import build_data_converter
from settings import Settings
from workflows.checks import _NOW
from workflows.rules import refuse

# A value for every parameter, to word every code in full.
EVERY_PARAM = RefusalParams(
    step=StepName.TRAVEL,
    stage=Stage.PLAN,
    expected_stage=Stage.TRAVEL,
    waiting_on=WaitingOn.SPECIALIST,
    roles=(Role.COORDINATOR, Role.PATIENT),
    case_manager_id="cm-es",
    starts_at=datetime(2026, 12, 1, 9, 30, tzinfo=UTC),
    opens_at=datetime(2026, 12, 12, 9, 0, tzinfo=UTC),
    cutoff_at=datetime(2026, 12, 3, 7, 0, tzinfo=UTC),
    earliest_arrival=date(2026, 12, 14),
    consult_no=2,
    consults=5,
    week=3,
    weeks=26,
    incident_number=2,
    open_incident=3,
    follow_up_no=1,
    open_follow_up=2,
    scale="light_touch",
    low=0,
    high=112,
    action=IncidentAction.SKIP,
    actions=(IncidentAction.RETRY, IncidentAction.WITHDRAW),
    claimed_by="rev-1",
    claimed_at=datetime(2026, 12, 1, 8, 0, tzinfo=UTC),
    lapses_at=datetime(2026, 12, 1, 10, 0, tzinfo=UTC),
)


def _placeholders(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


@pytest.mark.parametrize("code", list(RefusalCode))
def test_every_code_has_one_english_message_naming_only_its_parameters(code: RefusalCode) -> None:
    assert _placeholders(ENGLISH[code]) <= set(RefusalParams.model_fields)
    english = Refusal(code=code, params=EVERY_PARAM).english
    assert english and "{" not in english and english == english.strip()


def test_the_english_is_kept_as_clients_and_logs_read_it() -> None:
    assert Refusal(code=RefusalCode.WRONG_STAGE, params=EVERY_PARAM).english == (
        "travel details belongs to stage TRAVEL; the journey is at PLAN"
    )
    assert Refusal(code=RefusalCode.CONSULT_NOT_STARTED, params=EVERY_PARAM).english == (
        "travel details can be recorded once the consultation has started (2026-12-01 09:30 UTC)"
    )
    assert Refusal(code=RefusalCode.ROLE_NOT_ALLOWED, params=EVERY_PARAM).english == (
        "only a coordinator or patient can do this step"
    )
    assert Refusal(code=RefusalCode.ACTION_NOT_OFFERED, params=EVERY_PARAM).english == (
        "this incident cannot be resolved by skip: retry, withdraw"
    )
    assert Refusal(code=RefusalCode.CASE_CLAIMED, params=EVERY_PARAM).english == (
        "rev-1 has claimed this case since 2026-12-01 08:00 UTC, so only they can review it; "
        "the claim lapses at 2026-12-01 10:00 UTC unless they keep it, and the medical lead "
        "can take it over"
    )


def test_every_step_a_journey_checks_has_english() -> None:
    assert set(_NOW) <= set(STEP_ENGLISH)


def test_bad_data_is_invalid_a_role_forbidden_and_the_rest_not_now() -> None:
    assert Refusal.of(RefusalCode.SLOT_NOT_OFFERED).kind is StepError.INVALID
    assert Refusal.of(RefusalCode.ROLE_NOT_ALLOWED).kind is StepError.FORBIDDEN
    assert Refusal.of(RefusalCode.SLOT_TAKEN).kind is StepError.REFUSED
    assert set(KINDS.values()) == {StepError.INVALID, StepError.FORBIDDEN}


def test_parameters_are_coded_values_and_numbers_never_free_text() -> None:
    with pytest.raises(ValueError, match="stage"):
        Refusal.of(RefusalCode.JOURNEY_ENDED, stage="over")
    with pytest.raises(ValueError, match="reason"):
        Refusal.of(RefusalCode.JOURNEY_ENDED, reason="the patient said so")


def test_the_patient_page_words_only_known_codes_with_parameters_they_carry() -> None:
    for code, text in PATIENT_REFUSALS.items():
        named = set(re.findall(r"%\((\w+)\)s", text))
        assert named <= _placeholders(ENGLISH[code]), code


async def test_the_code_crosses_temporals_failure_encoding() -> None:
    key = base64.b64encode(b"k" * 32).decode()
    converter = build_data_converter(
        Settings(environment="development", payload_keys=SecretStr(f"unit:{key}"))
    )
    sent = refuse(
        RefusalCode.FOLLOW_UP_NOT_DUE,
        consult_no=2,
        opens_at=datetime(2026, 12, 12, 9, 0, tzinfo=UTC),
    )
    failure = Failure()
    await converter.encode_failure(sent, failure)
    # The message travels encoded with the payloads, as every failure's does.
    assert "follow-up" not in failure.message
    received = await converter.decode_failure(failure)
    assert isinstance(received, ApplicationError)
    assert (received.message, received.type) == (sent.message, StepError.REFUSED)
    assert refusal_from_details(list(received.details)) == Refusal.of(
        RefusalCode.FOLLOW_UP_NOT_DUE,
        consult_no=2,
        opens_at=datetime(2026, 12, 12, 9, 0, tzinfo=UTC),
    )


def test_a_failure_without_a_refusal_has_no_code() -> None:
    assert refusal_from_details([]) is None
    assert refusal_from_details(["some text"]) is None
    assert refusal_from_details([{"code": "not_a_code"}]) is None
