"""The one way to translate: catalogues, language choice, formatting and Jinja environments."""

import shutil
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from jinja2 import DictLoader, select_autoescape

import i18n
from i18n import catalogues

LOCALES = Path(__file__).resolve().parent.parent / "i18n" / "locales"


def _clear_caches() -> None:
    catalogues.supported_languages.cache_clear()
    catalogues._translations.cache_clear()
    catalogues._locale.cache_clear()


@pytest.fixture
def french(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The shipped catalogues plus a French one of two messages, dropped in as a file."""
    locales = tmp_path / "locales"
    shutil.copytree(LOCALES, locales)
    po = locales / "fr" / "LC_MESSAGES" / "messages.po"
    po.parent.mkdir(parents=True)
    po.write_text(
        'msgid ""\nmsgstr ""\n"Content-Type: text/plain; charset=UTF-8\\n"\n\n'
        'msgid "Kind regards,"\nmsgstr "Cordialement,"\n\n'
        'msgid "Dear %(name)s,"\nmsgstr "Chère, cher %(name)s,"\n',
        encoding="utf-8",
    )
    monkeypatch.setattr(catalogues, "locales_dir", lambda: locales)
    _clear_caches()
    yield locales
    _clear_caches()


def test_the_languages_are_the_catalogues_present() -> None:
    assert i18n.supported_languages() == ("en", "es")


def test_adding_a_language_is_adding_its_catalogue(french: Path) -> None:
    assert i18n.supported_languages() == ("en", "es", "fr")
    assert i18n.resolve("fr-CA") == "fr"
    assert i18n.translations("fr").gettext("Kind regards,") == "Cordialement,"
    # What the French catalogue lacks reads in English, and dates come from CLDR.
    assert i18n.translations("fr").gettext("Thank you,") == "Thank you,"
    assert i18n.format_day("2026-12-01", "fr") == "mar. 1 déc. 2026"


def test_an_unknown_language_reads_in_english() -> None:
    assert i18n.resolve("de") == i18n.resolve("") == i18n.resolve(None) == "en"
    assert i18n.translations("de").gettext("Kind regards,") == "Kind regards,"
    assert i18n.translations("es").gettext("Kind regards,") == "Atentamente,"
    assert i18n.resolve("ES_mx") == i18n.resolve("es-MX") == "es"


@pytest.mark.parametrize(
    ("header", "language"),
    [
        ("es-MX,es;q=0.9,en;q=0.8", "es"),
        ("de-DE,de;q=0.9,en;q=0.5,es;q=0.4", "en"),
        ("fr;q=1.0, es;q=0.5", "es"),
        ("en;q=0.2, es;q=0.8", "es"),
        ("es;q=0, en", "en"),
        ("*", None),
        ("de", None),
        ("", None),
        (None, None),
        ("es;q=x, en", "en"),
    ],
)
def test_accept_language_picks_the_most_wanted_language_we_have(
    header: str | None, language: str | None
) -> None:
    assert i18n.negotiate(header) == language


@pytest.mark.parametrize(
    ("language", "direction"), [("en", "ltr"), ("es", "ltr"), ("ar", "rtl"), ("he", "rtl")]
)
def test_direction_of_writing(language: str, direction: str, french: Path) -> None:
    for code in ("ar", "he"):
        po = french / code / "LC_MESSAGES" / "messages.po"
        po.parent.mkdir(parents=True)
        po.write_text('msgid ""\nmsgstr ""\n', encoding="utf-8")
    catalogues.supported_languages.cache_clear()
    assert i18n.direction(language) == direction


def test_languages_are_named_in_themselves() -> None:
    assert i18n.language_name("es") == "Español"
    assert i18n.language_name("en") == "English"


def test_formatting_in_the_readers_language() -> None:
    assert i18n.format_long_date(date(2026, 4, 13), "en") == "13 April 2026"
    assert i18n.format_long_date(date(2026, 4, 13), "es") == "13 de abril de 2026"
    at = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    assert i18n.format_moment(at, "es", "Europe/Madrid") == "mar 1 dic 2026, 10:00 (Europe/Madrid)"
    assert i18n.format_money(Decimal("12000"), "EUR", "en") == "€12,000.00"
    assert i18n.format_money("12000", "EUR", "es") == "12.000,00\xa0€"
    assert i18n.format_money(950, "USD", "es") == "950,00\xa0US$"
    assert i18n.day_names("es")[:2] == ["lun", "mar"]
    assert i18n.day_names("en", "wide")[6] == "Sunday"
    assert i18n.month_names("es", "wide")[11] == "diciembre"
    assert len(i18n.month_names("en")) == 12
    assert i18n.format_period(timedelta(days=91), "es") == "3 meses"
    assert i18n.format_period(timedelta(weeks=2), "en") == "2 weeks"


def test_durations_in_two_units_rounded_to_the_smaller() -> None:
    assert i18n.format_duration(timedelta(days=2, hours=4, minutes=20), "en") == (
        "2 days and 4 hours"
    )
    assert i18n.format_duration(timedelta(days=2, hours=4), "es") == "2 días y 4 horas"
    assert i18n.format_duration(timedelta(hours=7, minutes=36), "en", narrow=True) == "7h and 36m"
    # Rounding carries: a minute short of a day is a day, and a whole unit stands alone.
    assert i18n.format_duration(timedelta(hours=23, minutes=59, seconds=40), "en") == "1 day"
    assert i18n.format_duration(timedelta(days=90), "es") == "90 días"
    assert i18n.format_duration(timedelta(0), "en") == "0 seconds"
    assert i18n.format_day_month(date(2026, 11, 2), "en") == "2 Nov"
    assert i18n.format_day_month(date(2026, 11, 2), "es") == "2 nov"


def test_jinja_environments_translate_format_and_escape() -> None:
    environments = i18n.LocalizedEnvironments(
        DictLoader(
            {
                "page.html": (
                    '<html lang="{{ language }}" dir="{{ direction }}">'
                    "{% trans %}Reference: {{ reference }}{% endtrans %} "
                    "{{ when|day }} {{ price|money('EUR') }}"
                )
            }
        ),
        autoescape=select_autoescape(),
    )
    context = {"reference": "<b>A1</b>", "when": date(2026, 12, 1), "price": 10}
    spanish = environments("es-MX").get_template("page.html").render(context)
    assert spanish == (
        '<html lang="es" dir="ltr">Referencia: &lt;b&gt;A1&lt;/b&gt; mar 1 dic 2026 10,00\xa0€'
    )
    assert environments("de") is environments("en"), "one environment per language we have"
    english = environments("de").get_template("page.html").render(context)
    assert english.startswith('<html lang="en" dir="ltr">Reference: &lt;b&gt;')
