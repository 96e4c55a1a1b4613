"""What the staff directory's form accepts for a member of staff (domain/staff.py): each refused
field with its coded problem, all at once, and a specialist's hours read by weekday."""

from datetime import time

import pytest

from domain.actors import Role
from domain.readers import KEEPS_STAFF_DIRECTORY, STAFF, STAFF_ROLES
from domain.staff import (
    DIRECTORY_ROLES,
    StaffProblem,
    StaffRefused,
    check_member,
    language_tag,
)
from domain.working_hours import Interval

SPECIALIST = {
    "staff_id": "dr.ana",
    "full_name": "Dr. Ana Ruiz",
    "email": "Ana.Ruiz@Clinic.test",
    "role": "specialist",
    "languages": "es, pt-br",
    "time_zone": "America/Bogota",
    "consult_minutes": "45",
    "hours_0": "08:00-12:00",
    "hours_2": "14:00-18:00, 08:00-12:00",
}


def problems(values: dict[str, str], **changes: str) -> dict[str, tuple[StaffProblem, str]]:
    with pytest.raises(StaffRefused) as refused:
        check_member({**values, **changes})
    return {k: (p.problem, p.value) for k, p in refused.value.problems.items()}


def test_a_specialist_with_hours_in_their_own_zone() -> None:
    member = check_member(SPECIALIST)
    assert member.role is Role.SPECIALIST
    assert member.languages == ("es", "pt-BR")
    assert member.email == "Ana.Ruiz@clinic.test"
    assert member.oidc_subject == "dr.ana"
    assert member.consult_minutes == 45
    assert member.hours == {
        0: (Interval(time(8), time(12)),),
        2: (Interval(time(8), time(12)), Interval(time(14), time(18))),
    }
    assert check_member(member.form_values()) == member


def test_a_coordinator_keeps_no_hours_nor_calendar() -> None:
    member = check_member({**SPECIALIST, "role": "coordinator", "calendar_url": "https://x/"})
    assert member.hours == {} and member.calendar_url is None and member.consult_minutes is None


def test_a_specialist_without_working_hours_is_refused() -> None:
    empty = {k: v for k, v in SPECIALIST.items() if not k.startswith("hours_")}
    assert problems(empty) == {"hours": (StaffProblem.HOURS_MISSING, "")}


def test_overlapping_hours_are_refused_by_day() -> None:
    assert problems(SPECIALIST, hours_4="09:00-12:00, 11:30-13:00") == {
        "hours_4": (StaffProblem.HOURS_OVERLAP, "09:00-12:00, 11:30-13:00")
    }
    assert problems(SPECIALIST, hours_1="12:00-09:00")["hours_1"][0] is StaffProblem.HOURS_ORDER
    assert problems(SPECIALIST, hours_1="nine to five")["hours_1"][0] is StaffProblem.HOURS_FORMAT


def test_a_consultation_longer_than_every_interval_is_refused() -> None:
    short = {**SPECIALIST, "hours_0": "08:00-09:00", "hours_2": "10:00-11:00"}
    assert problems(short, consult_minutes="90") == {"hours": (StaffProblem.HOURS_TOO_SHORT, "")}
    assert problems(SPECIALIST, consult_minutes="5") == {
        "consult_minutes": (StaffProblem.CONSULT_LENGTH, "5")
    }


def test_every_bad_field_is_named_at_once() -> None:
    assert problems(
        SPECIALIST,
        staff_id="has space",
        email="not-an-email",
        role="surgeon",
        languages="es, klingon",
        time_zone="Europe/Atlantis",
    ) == {
        "staff_id": (StaffProblem.ID_FORMAT, "has space"),
        "email": (StaffProblem.EMAIL_FORMAT, "not-an-email"),
        "role": (StaffProblem.ROLE_UNKNOWN, "surgeon"),
        "languages": (StaffProblem.LANGUAGE_FORMAT, "klingon"),
        "time_zone": (StaffProblem.TIME_ZONE_UNKNOWN, "Europe/Atlantis"),
    }
    assert problems({})["full_name"] == (StaffProblem.REQUIRED, "")
    assert problems(SPECIALIST, staff_id="new")["staff_id"][0] is StaffProblem.ID_RESERVED


def test_a_member_on_file_keeps_an_id_the_form_would_not_give() -> None:
    assert check_member({**SPECIALIST, "staff_id": "auth0|1234"}, new=False).staff_id == (
        "auth0|1234"
    )


def test_a_calendar_address_is_an_http_address_without_credentials() -> None:
    assert problems(SPECIALIST, calendar_url="https://u:p@cal.test/x/")["calendar_url"] == (
        StaffProblem.CALENDAR_URL,
        "https://u:p@cal.test/x/",
    )
    address = "https://cal.test/dav/ana/consults/"
    assert check_member({**SPECIALIST, "calendar_url": address}).calendar_url == address


@pytest.mark.parametrize(
    ("typed", "tag"),
    [("ES", "es"), ("pt_br", "pt-BR"), ("zh-hant-tw", "zh-Hant-TW"), ("es-419", "es-419")],
)
def test_language_tags_are_bcp_47(typed: str, tag: str) -> None:
    assert language_tag(typed) == tag


@pytest.mark.parametrize("typed", ["", "xx", "english", "es-Spain", "e"])
def test_what_is_not_a_language_tag(typed: str) -> None:
    assert language_tag(typed) is None


def test_the_staff_administrator_signs_in_and_reads_no_journey() -> None:
    assert Role.STAFF_ADMIN in STAFF_ROLES and Role.STAFF_ADMIN in DIRECTORY_ROLES
    assert Role.STAFF_ADMIN not in STAFF
    assert KEEPS_STAFF_DIRECTORY == {Role.STAFF_ADMIN}
    assert set(DIRECTORY_ROLES) == set(STAFF_ROLES)
