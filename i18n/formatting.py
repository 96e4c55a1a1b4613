"""Dates, times, periods and money in the reader's language, from Babel's locale data (CLDR).

Day and month names come from CLDR, so a new language needs no list of its own. The shapes
(which parts, in which order) are catalogue messages with the context `date pattern`, so a
translator can reorder them for a language; every language shipped today keeps the English shape,
which is what emails and letters have always shown ("Tue 1 Dec 2026").
"""

from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Literal
from zoneinfo import ZoneInfo

from babel.dates import (
    format_date,
    format_datetime,
    format_timedelta,
    get_day_names,
    get_month_names,
    get_timezone_location,
)
from babel.lists import format_list
from babel.numbers import format_currency, format_decimal
from babel.units import format_unit

from i18n.catalogues import locale, translations

Width = Literal["abbreviated", "wide", "narrow"]

# A period of whole weeks shorter than this reads in weeks ("6 weeks"), anything else in months.
_WEEKS_UP_TO = timedelta(weeks=8)
_AVERAGE_MONTH_DAYS = 365.2425 / 12


def _as_date(value: date | datetime | str, tz: str) -> date:
    if isinstance(value, str):
        value = date.fromisoformat(value)
    if isinstance(value, datetime):
        return value.astimezone(ZoneInfo(tz)).date()
    return value


def format_day(value: date | datetime | str | None, language: str, tz: str = "UTC") -> str:
    """`Tue 1 Dec 2026`, `mar 1 dic 2026`; a date-time is taken on its day in `tz`.

    An ISO date string is accepted too, as notification facts carry dates that way.
    """
    if value is None or value == "":
        return ""
    # Translators: a CLDR date pattern (EEE weekday, d day, MMM month, y year); reorder
    # the letters as your language writes a short date, keep them Latin.
    pattern = str(translations(language).pgettext("date pattern", "EEE d MMM y"))
    return format_date(_as_date(value, tz), pattern, locale=locale(language))


def format_moment(value: datetime | None, language: str, tz: str) -> str:
    """`Tue 1 Dec 2026, 10:00 (Europe/Madrid)`: the wall-clock time in `tz`, the zone named.

    The zone is named as given (an IANA id), not as CLDR would spell it (`Etc/UTC` for `UTC`),
    so a reader sees the zone their records say.
    """
    if value is None:
        return ""
    # Translators: a CLDR date-and-time pattern (HH hour 00-23, mm minutes); the time
    # zone's name follows in parentheses.
    pattern = str(translations(language).pgettext("date pattern", "EEE d MMM y, HH:mm"))
    when = format_datetime(value, pattern, tzinfo=ZoneInfo(tz), locale=locale(language))
    return f"{when} ({tz})"


def zone_city(tz: str, language: str) -> str:
    """`Madrid`, `Bogotá`, `Calcuta`: the city CLDR names a zone by, in the reader's language
    (`UTC` for UTC)."""
    return str(get_timezone_location(ZoneInfo(tz), locale=locale(language), return_city=True))


def format_clinic_moment(
    value: datetime | None, language: str, clinic_tz: str, reader_tz: str | None = None
) -> str:
    """`Tue 9 Jun 2026, 08:00 (Madrid time; 01:00 in Bogotá)`: a time at the clinic on the
    clinic's clock, then on the reader's where that shows another time (with its day, where
    that is another day). Without `reader_tz`, the clinic's clock alone.
    """
    if value is None:
        return ""
    words = translations(language)
    where = locale(language)
    pattern = str(words.pgettext("date pattern", "EEE d MMM y, HH:mm"))
    clinic = ZoneInfo(clinic_tz)
    values = {
        "when": format_datetime(value, pattern, tzinfo=clinic, locale=where),
        "city": zone_city(clinic_tz, language),
    }
    reader = ZoneInfo(reader_tz) if reader_tz else None
    at_clinic = value.astimezone(clinic).replace(tzinfo=None)
    at_reader = value.astimezone(reader).replace(tzinfo=None) if reader else at_clinic
    if reader_tz is None or at_reader == at_clinic:
        # Translators: a time on the clinic's clock, then the city its time zone is named by.
        return str(words.pgettext("clinic time", "%(when)s (%(city)s time)")) % values
    if at_reader.date() != at_clinic.date():
        there = format_datetime(value, pattern, tzinfo=reader, locale=where)
    else:
        # Translators: a CLDR time pattern (HH hour 00-23, mm minutes).
        hours = str(words.pgettext("time pattern", "HH:mm"))
        there = format_datetime(value, hours, tzinfo=reader, locale=where)
    values.update(there=there, place=zone_city(reader_tz, language))
    # Translators: a time on the clinic's clock and the city its zone is named by; then the
    # same moment on the reader's clock and the city of the reader's zone.
    text = words.pgettext("clinic time", "%(when)s (%(city)s time; %(there)s in %(place)s)")
    return str(text) % values


def format_two_zone_moment(
    value: datetime | None, language: str, reader_tz: str, other_tz: str | None
) -> str:
    """A time on the reader's clock, and where another's clock shows another time (a
    specialist's, for a consultation), on that one too: `Tue 1 Dec 2026, 10:00 (Bogotá time;
    16:00 in Madrid)`. Where the two agree, or without `other_tz`, `format_moment`'s."""
    if value is None:
        return ""
    if other_tz is None or value.astimezone(ZoneInfo(other_tz)).replace(
        tzinfo=None
    ) == value.astimezone(ZoneInfo(reader_tz)).replace(tzinfo=None):
        return format_moment(value, language, reader_tz)
    return format_clinic_moment(value, language, reader_tz, other_tz)


def format_day_month(value: date, language: str) -> str:
    """`2 Nov`, `2 nov`: a day of this year, as a chart's axis names a week by its Monday."""
    # Translators: a CLDR date pattern for a chart's axis (d day, MMM month); reorder the
    # letters as your language writes a day and month, keep them Latin.
    pattern = str(translations(language).pgettext("date pattern", "d MMM"))
    return format_date(value, pattern, locale=locale(language))


def format_long_date(value: date, language: str) -> str:
    """`1 December 2026`, `1 de diciembre de 2026`: a date as a letter states it."""
    # Translators: a CLDR date pattern for letters (d day, MMMM month's full name, y year);
    # text in single quotes is kept as written, such as 'de' in Spanish.
    pattern = str(translations(language).pgettext("date pattern", "d MMMM y"))
    return format_date(value, pattern, locale=locale(language))


def format_period(value: timedelta, language: str) -> str:
    """`2 weeks`, `3 months`, `12 meses`: how long after an event something falls.

    Whole weeks under eight weeks read in weeks; anything else in months, rounded, since a
    follow-up "3 months" after treatment falls on day 91 and "12 months" on day 365.
    """
    if value < _WEEKS_UP_TO and value.days % 7 == 0:
        amount, unit = value.days // 7, "duration-week"
    else:
        amount, unit = round(value.days / _AVERAGE_MONTH_DAYS), "duration-month"
    return format_unit(amount, unit, length="long", locale=locale(language))


def format_money(amount: Decimal | int | float | str, currency: str, language: str) -> str:
    """`€12,000.00`, `12.000,00 €`: an amount in its ISO 4217 currency as the reader writes it."""
    return format_currency(Decimal(str(amount)), currency, locale=locale(language))


def format_number(value: Decimal | int | float, language: str) -> str:
    """`120,000,000`, `120.000.000`: a count or measure as the reader writes numbers."""
    return format_decimal(value, locale=locale(language))


def format_elapsed(value: timedelta, language: str) -> str:
    """`3 days`, `5 horas`: how long, rounded to its largest unit, as "overdue by" says it."""
    return format_timedelta(value, threshold=1, locale=locale(language))


_DURATION_UNITS = (
    ("duration-day", 86_400),
    ("duration-hour", 3_600),
    ("duration-minute", 60),
    ("duration-second", 1),
)


def _largest_unit(seconds: int) -> int:
    return next((i for i, (_, size) in enumerate(_DURATION_UNITS) if seconds >= size), 3)


def format_duration(value: timedelta, language: str, *, narrow: bool = False) -> str:
    """`2 days and 4 hours`, `2 días y 4 horas` (narrow: `2d and 4h`, `2d y 4h`): how long
    something took, in its largest unit and the next, rounded to that next unit.

    Unlike `format_elapsed`, which rounds to one unit, it keeps the second: a median of
    "2 days" would hide whether that is 2 days and 1 hour or 2 days and 11 hours.
    """
    where = locale(language)
    length: Literal["narrow", "long"] = "narrow" if narrow else "long"
    seconds = max(round(value.total_seconds()), 0)
    next_size = _DURATION_UNITS[min(_largest_unit(seconds) + 1, len(_DURATION_UNITS) - 1)][1]
    seconds = round(seconds / next_size) * next_size
    # Rounding may carry into a larger unit: 23 hours and 59.7 minutes is a day.
    largest = _largest_unit(seconds)
    parts: list[str] = []
    for unit, size in _DURATION_UNITS[largest : largest + 2]:
        amount, seconds = divmod(seconds, size)
        if amount or (not parts and size == 1):
            parts.append(format_unit(amount, unit, length=length, locale=where))
    return format_list(parts, locale=where) if len(parts) > 1 else parts[0]


def country_name(code: str, language: str) -> str:
    """`Spain`, `España`: an ISO 3166-1 alpha-2 code as the reader names the country (the
    code itself when CLDR has no name for it)."""
    return str(locale(language).territories.get(code.upper(), code))


def language_name_in(code: str, language: str) -> str:
    """`Spanish`, `español`: a language's name as the reader says it (the code when CLDR has
    no name for it); `language_name` gives a language's name in itself."""
    return str(locale(language).languages.get(code.lower(), code))


def day_names(language: str, width: Width = "abbreviated") -> list[str]:
    """Monday to Sunday: `Mon`…`Sun`, `lun`…`dom`."""
    names = get_day_names(width, context="format", locale=locale(language))
    return [names[i] for i in range(7)]


def month_names(language: str, width: Width = "abbreviated") -> list[str]:
    """January to December: `Jan`…`Dec`, `ene`…`dic`."""
    names = get_month_names(width, context="format", locale=locale(language))
    return [names[i] for i in range(1, 13)]
