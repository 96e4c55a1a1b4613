"""The catalogues keep up with the code: every text the code and templates mark for
translation is in the catalogue template, and every language we claim complete translates it.

A new `{% trans %}` block or `_()` fails here until `make messages` refreshes the catalogues
and the Spanish is written, so no text can silently stay English in a Spanish email.
"""

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from babel import Locale
from babel.dates import format_datetime, parse_pattern
from babel.messages.catalog import Catalog, Message
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

from i18n.catalogues import SOURCE_LANGUAGE, supported_languages

ROOT = Path(__file__).resolve().parent.parent
LOCALES = ROOT / "i18n" / "locales"
# The languages docs/i18n.md promises in full: the source language, and Spanish, in which every
# patient email, letter and page exists.
COMPLETE = ("en", "es")
PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]")

Key = tuple[str | None, str]


def _key(message: Message) -> Key:
    msgid = message.id if isinstance(message.id, str) else message.id[0]
    return message.context, msgid


def _read(path: Path, language: str | None = None) -> Catalog:
    with path.open("rb") as po:
        return read_po(po, locale=language)


def _catalogue(language: str) -> Catalog:
    return _read(LOCALES / language / "LC_MESSAGES" / "messages.po", language)


def _keys(catalog: Catalog) -> set[Key]:
    return {_key(m) for m in catalog if m.id}


def _extracted() -> set[Key]:
    """What `pybabel extract -F babel.cfg` finds in the sources today."""
    with (ROOT / "babel.cfg").open() as cfg:
        method_map, options_map = parse_mapping_cfg(cfg, "babel.cfg")
    found: set[Key] = set()
    for _file, _line, message, _comments, context in extract_from_dir(
        ROOT, method_map, options_map, keywords=DEFAULT_KEYWORDS
    ):
        found.add((context, message if isinstance(message, str) else message[0]))
    return found


def test_the_catalogue_template_holds_every_marked_text() -> None:
    template = _keys(_read(LOCALES / "messages.pot"))
    extracted = _extracted()
    assert extracted - template == set(), "new texts: run `make messages` and translate them"
    assert template - extracted == set(), "texts no longer used: run `make messages`"


@pytest.mark.parametrize("language", COMPLETE)
def test_complete_languages_have_every_message(language: str) -> None:
    catalog = _catalogue(language)
    template = _keys(_read(LOCALES / "messages.pot"))
    assert template - _keys(catalog) == set(), f"run `make messages`, then translate {language}"
    if language == SOURCE_LANGUAGE:
        return  # the msgids are the English texts; an empty msgstr means "as written"
    untranslated = [
        _key(m)
        for m in catalog
        if m.id and (m.fuzzy or not all(m.string if isinstance(m.string, tuple) else (m.string,)))
    ]
    assert untranslated == [], f"{language}: untranslated or fuzzy"


@pytest.mark.parametrize("language", supported_languages())
def test_translations_keep_their_placeholders(language: str) -> None:
    """A misspelt `%(name)s` would fail the email at render time, so it fails here first."""
    for message in _catalogue(language):
        if not message.id:
            continue
        ids: tuple[str, ...] = (message.id,) if isinstance(message.id, str) else tuple(message.id)
        wanted = {name for msgid in ids for name in PLACEHOLDER.findall(msgid)}
        strings = (message.string,) if isinstance(message.string, str) else message.string or ()
        for string in filter(None, strings):
            assert set(PLACEHOLDER.findall(string)) == wanted, (language, message.id, string)


@pytest.mark.parametrize("language", supported_languages())
def test_date_patterns_are_patterns(language: str) -> None:
    for message in _catalogue(language):
        if message.context == "date pattern" and message.string:
            assert isinstance(message.string, str)
            parse_pattern(message.string)
            when = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)
            shown = format_datetime(when, message.string, tzinfo=UTC, locale=language)
            # A translation keeps what the English shows: the year where it has one (a
            # chart's axis shows days without it), and always the day.
            assert "1" in shown
            if "y" in str(message.id):
                assert "2026" in shown


@pytest.mark.parametrize("language", supported_languages())
def test_every_catalogue_is_a_language_babel_knows(language: str) -> None:
    assert Locale.parse(language).language
    assert _catalogue(language).locale is not None


def test_the_shipped_catalogues_are_english_and_spanish() -> None:
    assert set(COMPLETE) <= set(supported_languages())
    assert supported_languages()[0] == SOURCE_LANGUAGE


def test_every_reason_code_has_its_words() -> None:
    """A new ending, withdrawal, rejection or notice reason cannot reach an email as a bare
    code: each has a catalogue text, translated in every complete language."""
    from activities.wording import REASONS, reason_text
    from domain.reasons import REASON_CODES

    assert REASON_CODES <= set(REASONS), sorted(REASON_CODES - set(REASONS))
    for code in REASON_CODES:
        english = reason_text(code, "en")
        assert english == REASONS[code]
        assert reason_text(code, "es") != english, code


def test_every_incident_kind_has_its_words_in_the_coordinators_email() -> None:
    from activities.wording import INCIDENTS, incident_sentence
    from domain.incidents import IncidentKind

    assert set(IncidentKind) == set(INCIDENTS)
    for kind in IncidentKind:
        assert incident_sentence(kind, "en") == INCIDENTS[kind]
        assert incident_sentence(kind, "es") != INCIDENTS[kind], kind
