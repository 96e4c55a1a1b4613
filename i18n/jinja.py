"""Jinja environments that speak one language each, for emails and pages alike.

Each has `jinja2.ext.i18n` installed with that language's catalogue (`{% trans %}` blocks and
`_()`), the language and its writing direction as globals (`language`, `direction`), and
filters that format in it: `day`, `moment(tz)`, `clinic_moment(clinic_tz, tz)`, `long_date`,
`money(currency)`, `number`, `elapsed` and `duration` (timedeltas), `country` (an ISO code)
and `language_name` (an ISO code).
"""

from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from jinja2 import BaseLoader, Environment

from i18n.catalogues import direction, resolve, translations
from i18n.formatting import (
    country_name,
    format_clinic_moment,
    format_day,
    format_duration,
    format_elapsed,
    format_long_date,
    format_moment,
    format_money,
    format_number,
    language_name_in,
)


def localized_environment(
    language: str | None, *, loader: BaseLoader, **options: Any
) -> Environment:
    """An environment rendering in `language` (English for a language without a catalogue).

    `options` are Jinja's own (autoescape, undefined, …). `trim_blocks` does not suit
    `{% trans %}` used inline: it eats the newline after `{% endtrans %}`, so templates with
    line-sensitive output (emails) control whitespace with `-%}` on their block tags instead.
    """
    lang = resolve(language)
    env = Environment(loader=loader, extensions=["jinja2.ext.i18n"], **options)
    # A paragraph may be wrapped over several lines of the template; the catalogue holds it
    # as one line, and a translator never sees the template's line breaks.
    env.policies["ext.i18n.trimmed"] = True
    # New-style gettext: `%(name)s` placeholders are filled by name and, where the template is
    # autoescaped, the values are escaped while the translated text is not.
    env.install_gettext_translations(translations(lang), newstyle=True)  # type: ignore[attr-defined]
    env.globals.update(language=lang, direction=direction(lang))

    def day(value: date | datetime | str | None, tz: str = "UTC") -> str:
        return format_day(value, lang, tz)

    def moment(value: datetime | None, tz: str = "UTC") -> str:
        return format_moment(value, lang, tz)

    def clinic_moment(value: datetime | None, clinic_tz: str, tz: str | None = None) -> str:
        return format_clinic_moment(value, lang, clinic_tz, tz)

    def long_date(value: date) -> str:
        return format_long_date(value, lang)

    def money(amount: Decimal | int | float | str, currency: str) -> str:
        return format_money(amount, currency, lang)

    def number(value: Decimal | int | float) -> str:
        return format_number(value, lang)

    def elapsed(value: timedelta) -> str:
        return format_elapsed(value, lang)

    def duration(value: timedelta) -> str:
        return format_duration(value, lang)

    def country(code: str) -> str:
        return country_name(code, lang)

    def language_name(code: str) -> str:
        return language_name_in(code, lang)

    env.filters.update(
        day=day,
        moment=moment,
        clinic_moment=clinic_moment,
        long_date=long_date,
        money=money,
        number=number,
        elapsed=elapsed,
        duration=duration,
        country=country,
        language_name=language_name,
    )
    return env


class LocalizedEnvironments:
    """One environment per language over the same templates, each built on first use and kept,
    since an environment caches the templates it has compiled."""

    def __init__(self, loader: BaseLoader, **options: Any) -> None:
        self._loader = loader
        self._options = options
        self._built: dict[str, Environment] = {}

    def __call__(self, language: str | None) -> Environment:
        lang = resolve(language)
        env = self._built.get(lang)
        if env is None:
            env = self._built[lang] = localized_environment(
                lang, loader=self._loader, **self._options
            )
        return env
