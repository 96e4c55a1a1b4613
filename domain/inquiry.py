"""The web form's inquiry: the only model that carries PHI, and it never enters a workflow."""

import re
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from functools import cache
from typing import Annotated
from zoneinfo import available_timezones

import pycountry
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    EmailStr,
    Field,
    StringConstraints,
    field_validator,
)

INJURY_LEVEL_PATTERN = r"^(C[1-8]|T(1[0-2]|[1-9])|L[1-5]|S[1-5])$"


class InjuryCompleteness(StrEnum):
    COMPLETE = "complete"
    INCOMPLETE = "incomplete"


class InjuryCause(StrEnum):
    TRAFFIC = "traffic"
    FALL = "fall"
    SPORTS = "sports"
    VIOLENCE = "violence"
    MEDICAL = "medical"
    OTHER = "other"


def _country(value: str) -> str:
    code = value.strip().upper()
    if len(code) != 2 or pycountry.countries.get(alpha_2=code) is None:
        raise ValueError("must be an ISO 3166-1 alpha-2 country code, such as ES or MX")
    return code


def _language(value: str) -> str:
    code = value.strip().lower()
    if len(code) != 2 or pycountry.languages.get(alpha_2=code) is None:
        raise ValueError("must be an ISO 639-1 language code, such as en or es")
    return code


def _phone(value: str) -> str:
    digits = "".join(ch for ch in value if ch not in " -().")
    if not digits.startswith("+") or not digits[1:].isdigit() or not 8 <= len(digits) <= 16:
        raise ValueError(
            "must be an international number with country code, such as +34 600 123 456"
        )
    return digits


def _injury_level(value: str) -> str:
    level = value.strip().upper()
    if not re.fullmatch(INJURY_LEVEL_PATTERN, level):
        raise ValueError("must be a neurological level from C1 to S5, such as C5 or T4")
    return level


@cache
def _known_time_zones() -> frozenset[str]:
    # available_timezones() walks the whole time-zone database on disk (about 600 files)
    # on every call; the set cannot change while the process runs.
    return frozenset(available_timezones())


@cache
def time_zones() -> tuple[str, ...]:
    """Every IANA time zone this machine knows, in order (the directory's form offers them)."""
    return tuple(sorted(_known_time_zones()))


def is_time_zone(value: str) -> bool:
    """Whether `value` is an IANA time zone this machine knows, such as Europe/Madrid."""
    return value in _known_time_zones()


def _time_zone(value: str | None) -> str | None:
    if value is not None and not is_time_zone(value):
        raise ValueError("must be an IANA time zone, such as Europe/Madrid")
    return value


def latest_today() -> date:
    """Today's date where it is latest on Earth (UTC+14).

    An injury "today" for a patient east of UTC is still a valid date, so the future starts
    after the last time zone's today.
    """
    return (datetime.now(UTC) + timedelta(hours=14)).date()


CountryCode = Annotated[str, AfterValidator(_country)]
LanguageCode = Annotated[str, AfterValidator(_language)]
InjuryLevel = Annotated[str, AfterValidator(_injury_level)]
PhoneNumber = Annotated[str, AfterValidator(_phone)]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]


class InquiryForm(BaseModel):
    """What the public form submits. Unknown fields are refused: a form sets no ids or stages."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    full_name: Name
    email: EmailStr
    phone: PhoneNumber
    country: CountryCode
    preferred_language: LanguageCode
    time_zone: Annotated[str | None, AfterValidator(_time_zone)] = None
    injury_level: InjuryLevel = Field(description="neurological level of injury, C1 to S5")
    injury_completeness: InjuryCompleteness
    injury_date: date
    injury_cause: InjuryCause
    medical_history: Annotated[str, StringConstraints(max_length=5000)] = ""
    consent_health_data: bool = Field(
        description="explicit consent to process health data; must be true"
    )
    consent_text_version: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=40)
    ]
    consent_language: LanguageCode | None = Field(
        default=None,
        description="the language the consent text was shown in; by default the preferred "
        "language, or English where the text does not exist in it",
    )

    @field_validator("injury_date")
    @classmethod
    def _injury_date_in_past(cls, value: date) -> date:
        if value > latest_today():
            raise ValueError("the date of injury cannot be in the future")
        if value.year < 1920:
            raise ValueError("the date of injury must be after 1920")
        return value

    @field_validator("consent_health_data")
    @classmethod
    def _consent_given(cls, value: bool) -> bool:
        if value is not True:
            raise ValueError("explicit consent to process health data is required")
        return value


class InquiryAccepted(BaseModel):
    """The answer to an accepted inquiry."""

    journey_id: str
    duplicate: bool = Field(
        default=False, description="true when this Idempotency-Key was seen before"
    )
