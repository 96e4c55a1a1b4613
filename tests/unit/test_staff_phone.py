"""A member of staff's work phone as the directory's form takes it (domain/staff.py): an
international number kept in E.164, whatever spaces, dashes and parentheses were typed in it,
and anything else refused with its code."""

import pytest

from api.console.directory import problem_text
from domain.staff import FieldProblem, StaffProblem, StaffRefused, check_member, phone_number

CASE_MANAGER = {
    "staff_id": "lucia.romero",
    "full_name": "Lucía Romero",
    "email": "lucia.romero@clinic.test",
    "role": "case_manager",
    "languages": "es, en",
    "time_zone": "Europe/Madrid",
}


@pytest.mark.parametrize(
    ("typed", "number"),
    [
        ("+34 600 123 456", "+34600123456"),
        ("+34-600-123-456", "+34600123456"),
        ("+1 (212) 555-0142", "+12125550142"),
        (" +44 20 7946 0958 ", "+442079460958"),
        ("+50012345", "+50012345"),
        ("+123456789012345", "+123456789012345"),
    ],
)
def test_an_international_number_is_kept_in_e164(typed: str, number: str) -> None:
    assert phone_number(typed) == number


@pytest.mark.parametrize(
    "typed",
    [
        "600 123 456",  # no country code
        "0034 600 123 456",  # the international prefix of one country, not +
        "+0 600 123 456",  # no country code starts with 0
        "+34 600.123.456",
        "+34 600 123 456 ext 12",
        "+1234567",  # too short to be anyone's
        "+1234567890123456",  # longer than E.164 allows
        "+34 \uff16\uff10\uff10 123 456",  # digits of another script
        "tel:+34600123456",
    ],
)
def test_what_is_not_an_international_number(typed: str) -> None:
    assert phone_number(typed) is None


def test_the_form_keeps_the_number_in_e164_and_shows_it_back() -> None:
    member = check_member({**CASE_MANAGER, "phone": "+34 (600) 123-456"})
    assert member.phone == "+34600123456"
    assert member.form_values()["phone"] == "+34600123456"
    assert check_member(member.form_values()) == member


def test_a_member_without_a_phone_has_none() -> None:
    assert check_member({**CASE_MANAGER, "phone": "  "}).phone is None
    assert check_member(CASE_MANAGER).form_values()["phone"] == ""


def test_a_number_that_is_not_international_is_refused_with_its_code() -> None:
    with pytest.raises(StaffRefused) as refused:
        check_member({**CASE_MANAGER, "phone": "600 123 456", "time_zone": "Mars/Olympus"})
    problems = refused.value.problems
    assert list(problems) == ["phone", "time_zone"]
    assert problems["phone"].problem is StaffProblem.PHONE_FORMAT
    assert problems["phone"].value == "600 123 456"
    assert str(refused.value).startswith(
        "phone: 600 123 456 is not an international phone number: write + and the country code "
        "first, such as +34 600 123 456; "
    )


def test_the_console_words_the_refusal_in_english_and_spanish() -> None:
    refused = FieldProblem(StaffProblem.PHONE_FORMAT, "600 123 456")
    assert problem_text(refused, "en") == (
        "600 123 456 is not an international phone number: write + and the country code first, "
        "such as +34 600 123 456."
    )
    assert problem_text(refused, "es") == (
        "600 123 456 no es un número de teléfono internacional: escriba primero + y el prefijo "
        "del país, como +34 600 123 456."
    )
