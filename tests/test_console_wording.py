"""The console words every coded value it shows, in every complete language: a new stage,
incident kind or phrase of what a journey waits for cannot reach a page as a bare code."""

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from api.console.actions import STAFF_WITHDRAWAL_REASONS
from api.console.rendering import console_environments
from api.console.wording import Wording
from domain.actors import Role
from domain.incidents import IncidentAction, IncidentKind
from domain.overview import BreachKind
from domain.reasons import EndingReason
from domain.refusals import Refusal, RefusalCode
from domain.stages import Stage, Task, WaitingOn
from domain.step_declarations import STEPS, StepName
from domain.steps import RejectionReason, WithdrawalReason

WORKFLOWS = Path(__file__).resolve().parent.parent / "workflows"
# What a journey "waits for" once it has ended; the console words the ending instead.
ENDINGS = {Task.COMPLETED, Task.WITHDRAWN, Task.CLOSED}


@pytest.mark.parametrize("language", ["en", "es"])
def test_every_task_a_journey_waits_for_has_words(language: str) -> None:
    words = Wording(language)
    unworded = sorted(t for t in Task if t not in ENDINGS and words.task(t) == t)
    assert unworded == []


def test_every_task_reads_in_spanish() -> None:
    english, spanish = Wording("en"), Wording("es")
    untranslated = sorted(
        t for t in Task if t not in ENDINGS and spanish.task(t) == english.task(t)
    )
    assert untranslated == []


@pytest.mark.parametrize("language", ["en", "es"])
@pytest.mark.parametrize("code", list(RefusalCode))
def test_every_refusal_has_words(language: str, code: RefusalCode) -> None:
    worded = Wording(language).refusal(Refusal.of(code), "UTC")
    assert worded and code.value not in worded
    if language != "en":
        assert worded != Wording("en").refusal(Refusal.of(code), "UTC"), code


def test_a_refusal_names_what_it_refused_in_the_readers_words_and_zone() -> None:
    wrong_stage = Refusal.of(
        RefusalCode.WRONG_STAGE,
        step=StepName.PLAN_DECISION,
        expected_stage=Stage.PLAN,
        stage=Stage.VALIDATION,
    )
    assert Wording("es").refusal(wrong_stage, "UTC") == (
        "Este paso corresponde a la etapa Plan; el proceso está en Validación."
    )
    not_started = Refusal.of(
        RefusalCode.CONSULT_NOT_STARTED,
        step=StepName.NO_SHOW,
        starts_at=datetime(2026, 12, 1, 9, 30, tzinfo=UTC),
    )
    assert Wording("en").refusal(not_started, "Europe/Madrid") == (
        "This can be recorded once the consultation has started: "
        "Tue 1 Dec 2026, 10:30 (Europe/Madrid)."
    )
    offered = Refusal.of(
        RefusalCode.ACTION_NOT_OFFERED,
        action=IncidentAction.SKIP,
        actions=(IncidentAction.RETRY, IncidentAction.WITHDRAW),
    )
    assert Wording("es").refusal(offered, "UTC") == (
        "Esta incidencia no se puede resolver con «omitir»; admite: reintentar, retirar."
    )


@pytest.mark.parametrize("language", ["en", "es"])
def test_every_stage_wait_and_incident_kind_has_words(language: str) -> None:
    words = Wording(language)
    for code, read in [
        *((s.value, words.stage(s)) for s in Stage),
        *((w.value, words.waiting_on(w)) for w in WaitingOn),
        *((k.value, words.incident(k)) for k in IncidentKind),
        *((n.value, words.step(n)) for n in StepName if STEPS[n].console),
        *((r.value, words.rejection(r)) for r in RejectionReason),
        *((r.value, words.withdrawal(r)) for r in STAFF_WITHDRAWAL_REASONS),
        *((r.value, words.ending_reason(Stage.WITHDRAWN, r)) for r in WithdrawalReason),
        *((r.value, words.ending_reason(Stage.LOST_CONTACT, r)) for r in EndingReason),
        *((r.value, words.ending_reason(Stage.NOT_ELIGIBLE, r)) for r in RejectionReason),
        *((b.value, words.breach(b)) for b in BreachKind),
    ]:
        assert read and read != code, (language, code)


def test_an_outcome_names_its_stage_and_why() -> None:
    english, spanish = Wording("en"), Wording("es")
    assert english.outcome(Stage.WITHDRAWN, "plan_declined") == (
        "Withdrawn: The treatment plan was declined"
    )
    assert spanish.outcome(Stage.WITHDRAWN, "financial") == "Retirado: Motivos económicos"
    assert english.outcome(Stage.COMPLETED, None) == "Completed"
    assert english.outcome(Stage.LOST_CONTACT, None) == "Lost contact: reason not recorded"


def test_the_waiting_sentence_names_whom_what_and_until_when_in_the_readers_zone() -> None:
    now = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)
    deadline = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)

    def sentence(language: str, **changes: object) -> str:
        values: dict[str, object] = {
            "stage": Stage.VALIDATION,
            "waiting_on": WaitingOn.REVIEWER,
            "task": Task.REVIEW_CASE,
            "deadline": deadline,
            "incident": None,
            "now": now,
            "tz": "Europe/Madrid",
        } | changes
        return Wording(language).waiting_sentence(**values)  # type: ignore[arg-type]

    assert sentence("en") == (
        "Validation: waiting on a medical reviewer to review the case by "
        "Tue 1 Dec 2026, 10:30 (Europe/Madrid), 2 days late."
    )
    assert sentence("es") == (
        "Validación: esperando a un/a revisor/a médico/a para revisar el caso antes del "
        "mar 1 dic 2026, 10:30 (Europe/Madrid); 2 días de retraso."
    )
    assert sentence("en", now=deadline - timedelta(hours=1), tz="UTC").endswith(
        "by Tue 1 Dec 2026, 09:30 (UTC)."
    )
    assert sentence("en", incident=IncidentKind.EMAIL_REFUSED) == (
        "Validation: held by an incident (Email refused); waiting on a coordinator to resolve it."
    )
    assert sentence("es", stage=Stage.WITHDRAWN, waiting_on=WaitingOn.NONE) == (
        "Este proceso ha terminado: Retirado."
    )
    assert sentence("en", waiting_on=WaitingOn.NONE, task=Task.ASSIGNING_CASE_MANAGER) == (
        "Validation: assigning a case manager."
    )


@pytest.mark.parametrize("language", ["en", "es"])
def test_every_role_has_a_name(language: str) -> None:
    macros: Any = console_environments()(language).get_template("_macros.html").module
    # The system is worded where it acts ("the system" in the timeline), never as a role.
    people = [role for role in Role if role is not Role.SYSTEM]
    unnamed = [role.value for role in people if macros.role_name(role.value) == role.value]
    assert unnamed == []


def test_the_timeline_words_the_journeys_codes() -> None:
    english, spanish = Wording("en"), Wording("es")
    assert english.timeline("stage", "INQUIRY") == "Inquiry"
    assert english.timeline("stage", "CASE_MANAGER") == "Case manager"
    assert (
        english.timeline("stage", "TELECONSULT, waiting on patient")
        == "Teleconsultation, waiting on the patient"
    )
    assert spanish.timeline("stage", "TELECONSULT, waiting on patient") == (
        "Teleconsulta, esperando al paciente"
    )
    assert english.timeline("step", "review: request_documents") == (
        "Review the case: documents asked for"
    )
    assert spanish.timeline("step", "review: request_documents") != "review: request_documents"
    assert english.timeline("step", "rehab checkin 3") == "Record a rehabilitation check-in 3"
    assert english.timeline("booking", "clinic visit booked") == "Clinic visit booked"
    # The auditors' words for what the console has no words for are kept as they are.
    assert english.timeline("email", "acknowledgement email to patient") == (
        "acknowledgement email to patient"
    )


def test_every_journey_update_has_timeline_words() -> None:
    """A new update of the journey's workflows cannot reach the timeline as its code."""
    updates: set[str] = set()
    for source in WORKFLOWS.rglob("*.py"):
        updates |= set(
            re.findall(r"@workflow\.update\s+(?:async\s+)?def (\w+)", source.read_text())
        )
    assert updates
    words = Wording("es")
    for update in updates:
        phrase = update.replace("_", " ")
        assert words.timeline("step", phrase) != phrase, update
