"""The visa invitation letter: what it says, in which language, and that it renders repeatably.

The PDF stores TrueType text as glyph ids, so wording is checked through `letter_text`, the
exact text the renderer lays out, and the PDF itself for structure and determinism.
"""

import re
from datetime import date
from typing import Any

import pytest
from pydantic import ValidationError

from integrations.visa_letter import (
    UnsupportedCharacters,
    VisaLetter,
    country_name,
    letter_text,
    render_visa_letter,
)


def make_letter(**changes: Any) -> VisaLetter:
    fields: dict[str, Any] = {
        "reference": "SCI-2026-0042",
        "issued_on": date(2026, 3, 2),
        "clinic_name": "Clínica Ejemplo",
        "clinic_address": "Calle Mayor 1\n28001 Madrid\nSpain",
        "clinic_contact": "international@clinic.example",
        "patient_full_name": "Ana María Gómez",
        "patient_country": "MX",
        "arrival_date": date(2026, 4, 12),
        "departure_date": date(2026, 4, 16),
        "visit_day1": date(2026, 4, 13),
        "visit_day2": date(2026, 4, 14),
    }
    return VisaLetter(**(fields | changes))


def page_count(pdf: bytes) -> int:
    match = re.search(rb"/Count (\d+)", pdf)
    assert match is not None
    return int(match.group(1))


def test_renders_a_pdf() -> None:
    assert render_visa_letter(make_letter()).startswith(b"%PDF-")


def test_same_letter_gives_same_bytes() -> None:
    assert render_visa_letter(make_letter()) == render_visa_letter(make_letter())


def test_creation_date_is_the_issue_date() -> None:
    assert b"/CreationDate (D:20260302000000Z" in render_visa_letter(make_letter())


def test_fits_one_page() -> None:
    assert page_count(render_visa_letter(make_letter())) == 1


def test_longest_letter_fits_two_pages() -> None:
    letter = make_letter(
        reference="R" * 64,
        clinic_name="Clínica " * 25,
        clinic_address="Calle Mayor 1\n" * 28,
        clinic_contact="x" * 200,
        patient_full_name="Ana María " * 20,
        companions=10,
    )
    assert page_count(render_visa_letter(letter)) <= 2


def test_text_is_set_in_the_embedded_unicode_font() -> None:
    pdf = render_visa_letter(make_letter(), compress=False)
    assert re.search(rb"/FontName /[A-Z]{6}\+DejaVuSans", pdf)


@pytest.mark.parametrize(
    ("changes", "wording", "not_said"),
    [
        pytest.param(
            {},
            [
                "To the consular officer,",
                "Ana María Gómez (country: Mexico)",
                "intrathecal transplantation of mesenchymal stem cells",
                "on 13 April 2026 and 14 April 2026",
                "arrive on 12 April 2026 and leave on 16 April 2026",
                "SCI-2026-0042",
                "Date: 2 March 2026",
                "international@clinic.example",
            ],
            "accompanied",
            id="english",
        ),
        pytest.param(
            {"language": "es", "patient_country": "US"},
            [
                "A la atención del funcionario consular:",
                "Ana María Gómez (país: Estados Unidos)",
                "trasplante intratecal de células madre mesenquimales",
                "los días 13 de abril de 2026 y 14 de abril de 2026",
                "llegará el 12 de abril de 2026 y saldrá el 16 de abril de 2026",
                "Referencia: SCI-2026-0042",
                "Atentamente,",
            ],
            "consular officer",
            id="spanish",
        ),
    ],
)
def test_the_letter_names_patient_dates_and_reference_in_its_language(
    changes: dict[str, Any], wording: list[str], not_said: str
) -> None:
    text = letter_text(make_letter(**changes))
    assert [phrase for phrase in wording if phrase not in text] == []
    assert not_said not in text


def test_spanish_regional_tag_is_spanish() -> None:
    assert "Atentamente," in letter_text(make_letter(language="es-MX"))


def test_other_languages_fall_back_to_english() -> None:
    assert letter_text(make_letter(language="fr")) == letter_text(make_letter())


@pytest.mark.parametrize(
    ("language", "count", "wording"),
    [
        ("en", 1, "They will be accompanied by 1 companion."),
        ("en", 2, "They will be accompanied by 2 companions."),
        ("es", 1, "Le acompañará 1 persona."),
        ("es", 3, "Le acompañarán 3 personas."),
    ],
)
def test_companions_are_mentioned(language: str, count: int, wording: str) -> None:
    assert wording in letter_text(make_letter(language=language, companions=count))


@pytest.mark.parametrize(
    ("name", "country"),
    [("Алексей Иванов", "RU"), ("محمد", "EG"), ("Łukasz Żółć", "PL"), ("Nguyễn Văn An", "VN")],
)
def test_names_in_other_scripts_render(name: str, country: str) -> None:
    letter = make_letter(patient_full_name=name, patient_country=country)
    assert render_visa_letter(letter).startswith(b"%PDF-")
    assert name in letter_text(letter)


def _unicode_map(pdf: bytes) -> set[str]:
    """The characters the PDF's ToUnicode map gives for the glyphs it embeds."""
    return {chr(int(code, 16)) for code in re.findall(rb"<[0-9A-F]{4}> <([0-9A-F]{4})>", pdf)}


@pytest.mark.parametrize(
    "name", ["Алексей Иванов", "Łukasz Żółć", "Nguyễn Văn An", "Ana María Gómez"]
)
def test_every_character_of_the_name_is_embedded(name: str) -> None:
    pdf = render_visa_letter(make_letter(patient_full_name=name), compress=False)
    assert set(name) - {" "} <= _unicode_map(pdf)


def test_decomposed_accents_are_composed() -> None:
    letter = make_letter(patient_full_name="Jose\u0301")
    assert letter.patient_full_name == "Jos\u00e9"


def test_characters_the_font_lacks_are_refused_without_naming_them() -> None:
    with pytest.raises(UnsupportedCharacters) as raised:
        render_visa_letter(make_letter(patient_full_name="李小龍"))
    assert raised.value.characters == "小李龍"
    assert "李" not in str(raised.value)


def test_dates_out_of_order_are_rejected() -> None:
    with pytest.raises(ValidationError, match="arrival_date <= visit_day1"):
        make_letter(arrival_date=date(2026, 4, 14))


def test_unknown_country_is_rejected() -> None:
    with pytest.raises(ValidationError, match="ISO 3166-1 alpha-2"):
        make_letter(patient_country="XX")


@pytest.mark.parametrize(
    ("code", "language", "name"),
    [
        ("KR", "en", "South Korea"),
        ("KR", "es", "Corea del Sur"),
        ("PS", "en", "State of Palestine"),
        ("RU", "es", "Federación Rusa"),
    ],
)
def test_country_names_read_naturally(code: str, language: str, name: str) -> None:
    assert country_name(code, language) == name
