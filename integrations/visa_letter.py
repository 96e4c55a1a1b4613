"""Visa invitation letters: the clinic's letter a patient shows the consulate, as an A4 PDF.

The text is set in DejaVu Sans, shipped in `integrations/fonts/` with its licence (Bitstream Vera
and Arev terms, DejaVu changes public domain), because fpdf2's core fonts are Latin-1 only and a
patient's name may be in Cyrillic, Arabic or accented Latin. DejaVu Sans has no CJK, Devanagari or
Thai glyphs: a letter needing them raises `UnsupportedCharacters` rather than printing empty boxes
on a document a consul reads. Without a shaping engine (fpdf2 needs `uharfbuzz` for
`set_text_shaping`) right-to-left scripts are drawn in logical order with unjoined letters, so an
Arabic or Hebrew name renders but does not read correctly yet.

`VisaLetter` carries the patient's name, which is PHI: build it inside the activity from what is
stored in Postgres, never pass it through a workflow, so it stays out of Temporal histories.
"""

import gettext
import unicodedata
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from functools import cache
from importlib.resources import as_file, files
from typing import Annotated, Literal, Self

import pycountry
from fpdf import FPDF, XPos, YPos
from fpdf.fonts import TTFFont
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from i18n import format_long_date, resolve, translations

_FAMILY = "DejaVuSans"
_FONT = files("integrations").joinpath("fonts/DejaVuSans.ttf")


class UnsupportedCharacters(ValueError):
    """The letter needs glyphs the shipped font lacks; retrying cannot fix it.

    The message gives only a count: it may end up in a workflow history, and the characters
    come from the patient's name. `characters` holds them for whoever handles the error locally.
    """

    def __init__(self, characters: str) -> None:
        super().__init__(f"the font has no glyph for {len(characters)} character(s) of the letter")
        self.characters = characters


def _nfc(value: str) -> str:
    # Decomposed accents would be drawn as separate, badly placed marks without a shaper.
    return unicodedata.normalize("NFC", value)


def _country(value: str) -> str:
    code = value.strip().upper()
    if len(code) != 2 or pycountry.countries.get(alpha_2=code) is None:
        raise ValueError("must be an ISO 3166-1 alpha-2 country code, such as ES or MX")
    return code


# Bounds keep every letter within two A4 pages.
Text = Annotated[str, Field(min_length=1, max_length=200), AfterValidator(_nfc)]
Address = Annotated[str, Field(min_length=1, max_length=400), AfterValidator(_nfc)]
Country = Annotated[str, AfterValidator(_country)]


class VisaLetter(BaseModel):
    """Everything one invitation letter says, in the language of the reader."""

    model_config = ConfigDict(frozen=True, str_strip_whitespace=True)

    reference: str = Field(min_length=1, max_length=64)
    issued_on: date
    clinic_name: Text
    clinic_address: Address
    clinic_contact: Text
    patient_full_name: Text
    patient_country: Country
    arrival_date: date
    departure_date: date
    visit_day1: date
    visit_day2: date
    companions: int = Field(default=0, ge=0, le=10)
    language: str = "en"

    @model_validator(mode="after")
    def _dates_in_order(self) -> Self:
        # A consulate checks the stay against the visit; an inconsistent letter gets refused.
        if not (self.arrival_date <= self.visit_day1 < self.visit_day2 <= self.departure_date):
            raise ValueError(
                "dates must run arrival_date <= visit_day1 < visit_day2 <= departure_date"
            )
        return self

    @property
    def lang(self) -> str:
        """The letter's language: the patient's where a catalogue has it (`es-MX` → `es`),
        otherwise English."""
        return resolve(self.language)


@dataclass(frozen=True)
class _Block:
    text: str
    size: float = 11
    align: Literal["L", "R"] = "L"
    space_after: float = 4


@cache
def _country_names(language: str) -> gettext.NullTranslations:
    # pycountry ships the ISO 3166 names translated for many languages; English is the source.
    return gettext.translation(
        "iso3166-1", pycountry.LOCALES_DIR, languages=[language], fallback=True
    )


def country_name(code: str, language: str) -> str:
    """The country as a reader would write it: `South Korea`, not `Korea, Republic of`."""
    country = pycountry.countries.get(alpha_2=code)
    if country is None:
        raise ValueError(f"unknown country code {code!r}")
    name: str = getattr(country, "common_name", None) or country.name
    official: str | None = getattr(country, "official_name", None)
    if "," in name and official:
        name = official.removeprefix("the ")
    return _country_names(resolve(language)).gettext(name)


def _blocks(letter: VisaLetter) -> list[_Block]:
    lang = letter.lang
    _ = translations(lang).gettext
    words = {
        "clinic": letter.clinic_name,
        "name": letter.patient_full_name,
        "country": country_name(letter.patient_country, lang),
        "reference": letter.reference,
        "contact": letter.clinic_contact,
        "issued": format_long_date(letter.issued_on, lang),
        "day1": format_long_date(letter.visit_day1, lang),
        "day2": format_long_date(letter.visit_day2, lang),
        "arrival": format_long_date(letter.arrival_date, lang),
        "departure": format_long_date(letter.departure_date, lang),
        "num": letter.companions,
    }
    stay = _("%(name)s will arrive on %(arrival)s and leave on %(departure)s.") % words
    if letter.companions:
        companions = translations(lang).ngettext(
            "They will be accompanied by %(num)d companion.",
            "They will be accompanied by %(num)d companions.",
            letter.companions,
        )
        stay = f"{stay} {companions % words}"
    return [
        _Block(letter.clinic_name, size=15, space_after=1),
        _Block(letter.clinic_address, size=10, space_after=10),
        _Block(_("Date: %(issued)s") % words, align="R", space_after=1),
        _Block(_("Reference: %(reference)s") % words, align="R", space_after=10),
        _Block(_("Letter of invitation for a visa application"), size=13, space_after=6),
        _Block(_("To the consular officer,")),
        _Block(
            _(
                "%(clinic)s invites %(name)s (country: %(country)s) to a two-day treatment "
                "visit at our clinic for intrathecal transplantation of mesenchymal stem "
                "cells, on %(day1)s and %(day2)s."
            )
            % words
        ),
        _Block(stay),
        _Block(
            _(
                "The clinic has reserved the treatment visit on these dates under reference "
                "%(reference)s."
            )
            % words
        ),
        _Block(
            _(
                "Should you need to confirm this invitation, please contact our international "
                "patients office: %(contact)s."
            )
            % words,
            space_after=10,
        ),
        _Block(_("Yours faithfully,"), space_after=6),
        _Block(letter.clinic_name, space_after=1),
        _Block(_("International patients office")),
    ]


def letter_text(letter: VisaLetter) -> str:
    """The exact text `render_visa_letter` lays out, its blocks joined by newlines.

    The PDF stores TrueType text as glyph ids, so this is how tests and reviewers read it.
    """
    return "\n".join(block.text for block in _blocks(letter))


def render_visa_letter(letter: VisaLetter, *, compress: bool = True) -> bytes:
    """The letter as a one- or two-page A4 PDF, byte-identical for the same input.

    The creation date is taken from `issued_on`, so a retried activity writes the same file.
    `compress=False` leaves page content streams readable, for debugging.
    """
    blocks = _blocks(letter)
    pdf = FPDF(format="A4", unit="mm")
    pdf.set_compression(compress)
    pdf.set_creation_date(datetime.combine(letter.issued_on, time(), tzinfo=UTC))
    title = translations(letter.lang).gettext("Visa invitation letter %(reference)s")
    pdf.set_title(title % {"reference": letter.reference})
    pdf.set_creator("patient-journeys")
    pdf.set_margins(left=22, top=20, right=22)
    pdf.set_auto_page_break(auto=True, margin=20)
    used = {ch for block in blocks for ch in block.text if not ch.isspace()}
    # as_file gives fpdf2 a real path even when the package is installed as a zip.
    with as_file(_FONT) as font_path:
        pdf.add_font(_FAMILY, fname=font_path)
    pdf.set_font(_FAMILY, size=11)
    font = pdf.current_font
    assert isinstance(font, TTFFont)
    missing = "".join(sorted(ch for ch in used if ord(ch) not in font.cmap))
    if missing:
        raise UnsupportedCharacters(missing)

    pdf.add_page()
    for block in blocks:
        pdf.set_font_size(block.size)
        pdf.multi_cell(
            0,
            block.size * 0.5,
            block.text,
            align=block.align,
            new_x=XPos.LMARGIN,
            new_y=YPos.NEXT,
        )
        pdf.ln(block.space_after)
    return bytes(pdf.output())
