"""Which journeys each role reaches (domain/readers.py, api/authorization.py): the rule for one
journey, by scope. tests/test_api_authorization.py holds the lists' SQL to the same answers."""

import uuid

import pytest

from api.authorization import reach_of, reaches
from api.tokens import Principal
from db.journey_queries import JourneyAssignment
from domain.actors import Actor, Role
from domain.readers import (
    KEEPS_STAFF_DIRECTORY,
    PAYLOAD_READERS,
    SCOPES,
    STAFF_ROLES,
    Reach,
    Scope,
)
from domain.stages import Stage

JOURNEY = str(uuid.uuid4())


def _journey(
    stage: Stage = Stage.TELECONSULT,
    *,
    case_manager: str | None = "cm-en",
    specialist: str | None = "spec-2",
    reviewer: str | None = "rev-2",
) -> JourneyAssignment:
    return JourneyAssignment(
        journey_id=JOURNEY,
        stage=stage,
        case_manager_id=case_manager,
        specialist_id=specialist,
        reviewer_id=reviewer,
    )


def _reach(person: str, role: Role) -> Reach | None:
    return reach_of(Principal(actor=Actor(id=person, role=role), name=person))


def test_every_staff_role_has_a_scope_and_the_codec_decodes_for_every_journeys_only() -> None:
    # Staff administrators keep the directory and reach no journey.
    assert STAFF_ROLES - KEEPS_STAFF_DIRECTORY | {Role.PATIENT, Role.CLINIC, Role.PARTNER} == set(
        SCOPES
    )
    assert {r for r, s in SCOPES.items() if s not in (Scope.EVERY, Scope.OWN_LINK)} == {
        Role.REVIEWER,
        Role.SPECIALIST,
        Role.CASE_MANAGER,
    }
    assert PAYLOAD_READERS == {Role.COORDINATOR, Role.MEDICAL_LEAD}
    assert all(SCOPES[role] is Scope.EVERY for role in PAYLOAD_READERS)


@pytest.mark.parametrize(
    "role",
    [Role.COORDINATOR, Role.MEDICAL_LEAD, Role.PRIVACY_OFFICER, Role.AUDITOR, Role.CLINIC],
)
def test_those_who_run_or_answer_for_journeys_reach_every_one(role: Role) -> None:
    assert reaches(_reach("someone", role), _journey(case_manager=None, specialist=None))


def test_a_case_manager_reaches_the_journeys_assigned_to_them() -> None:
    mine = _reach("cm-es", Role.CASE_MANAGER)
    assert reaches(mine, _journey(case_manager="cm-es"))
    assert not reaches(mine, _journey(case_manager="cm-en"))
    assert not reaches(mine, _journey(Stage.VALIDATION, case_manager=None))


def test_a_specialist_reaches_the_journeys_booked_with_them() -> None:
    mine = _reach("spec-1", Role.SPECIALIST)
    assert reaches(mine, _journey(Stage.FOLLOW_UP, specialist="spec-1"))
    assert not reaches(mine, _journey(specialist="spec-2"))
    assert not reaches(mine, _journey(Stage.VALIDATION, specialist=None))


def test_a_reviewer_reaches_every_case_in_validation_then_those_they_decided() -> None:
    mine = _reach("rev-1", Role.REVIEWER)
    assert reaches(mine, _journey(Stage.VALIDATION, reviewer=None))
    assert reaches(mine, _journey(Stage.VALIDATION, reviewer="rev-2"))
    assert reaches(mine, _journey(Stage.NOT_ELIGIBLE, reviewer="rev-1"))
    assert not reaches(mine, _journey(Stage.CASE_MANAGER, reviewer="rev-2"))
    assert not reaches(mine, _journey(Stage.INQUIRY, reviewer=None))


def test_a_patients_link_reaches_its_own_journey() -> None:
    link = Principal(actor=Actor(id="p-1", role=Role.PATIENT), name="patient", journey_id=JOURNEY)
    assert reaches(reach_of(link), _journey())
    other = Principal(
        actor=Actor(id="p-2", role=Role.PATIENT), name="patient", journey_id=str(uuid.uuid4())
    )
    assert not reaches(reach_of(other), _journey())


def test_the_workflows_own_role_reaches_nothing_through_the_api() -> None:
    assert _reach("system", Role.SYSTEM) is None
    assert not reaches(None, _journey())
