"""The translation catalogues: `locales/<language>/LC_MESSAGES/messages.po`, one per language.

English is the source language: every msgid is the English text, so a message a catalogue does
not translate reads in English, and a language without a catalogue is written in English. The
languages on offer are the catalogues present, so adding a language is adding its `.po` file.
"""

import functools
import io
from collections.abc import Iterable
from importlib import resources
from importlib.resources.abc import Traversable

from babel import Locale
from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

SOURCE_LANGUAGE = "en"
DOMAIN = "messages"


def N_(message: str) -> str:
    """Marks a text for the catalogue where it is defined; it is translated where it is read."""
    return message


def locales_dir() -> Traversable:
    """Where the catalogues are: package data, so they travel with an installed wheel."""
    return resources.files("i18n").joinpath("locales")


def catalogue_path(language: str) -> Traversable:
    return locales_dir().joinpath(language, "LC_MESSAGES", f"{DOMAIN}.po")


@functools.cache
def supported_languages() -> tuple[str, ...]:
    """The languages a catalogue exists for, English first; English is always one of them."""
    found = {
        entry.name
        for entry in locales_dir().iterdir()
        if entry.is_dir() and catalogue_path(entry.name).is_file()
    }
    return (SOURCE_LANGUAGE, *sorted(found - {SOURCE_LANGUAGE}))


def _match(tag: str) -> str | None:
    """The supported language a tag names (`es`, `es-MX`, `ES_mx` → `es`), if any."""
    return _match_in(tag, supported_languages())


# Every date, number and name a page formats asks, so the answers are kept; bounded, as tags
# come from browsers' headers, and keyed by the languages on offer, which a test may change.
@functools.lru_cache(maxsize=256)
def _match_in(tag: str, supported: tuple[str, ...]) -> str | None:
    wanted = tag.strip().replace("-", "_").lower()
    if not wanted:
        return None
    by_lower = {code.lower(): code for code in supported}
    return by_lower.get(wanted) or by_lower.get(wanted.split("_")[0])


def catalogue_for(tag: str) -> str | None:
    """The language whose catalogue a reader of `tag` gets (`es-MX` gives `es`), or None if
    no catalogue has it."""
    return _match(tag)


def resolve(language: str | None) -> str:
    """The language a reader of `language` gets: theirs if a catalogue has it, else English."""
    return _match(language or "") or SOURCE_LANGUAGE


def resolve_first(languages: Iterable[str]) -> str:
    """The first of a reader's `languages` that a catalogue has (`['de', 'es']` gives `es`),
    else English: what a member of staff gets, whose directory entry lists the languages they
    work in, most used first, and need not list English."""
    for language in languages:
        if (found := _match(language)) is not None:
            return found
    return SOURCE_LANGUAGE


def negotiate(accept_language: str | None) -> str | None:
    """The supported language an `Accept-Language` header prefers most, or None if none.

    `es-MX,es;q=0.9,en;q=0.8` gives `es`; weights of 0 and the `*` wildcard choose nothing.
    """
    ranked: list[tuple[float, int, str]] = []
    for position, item in enumerate((accept_language or "").split(",")):
        tag, _, params = item.partition(";")
        weight = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name == "q":
                try:
                    weight = float(value)
                except ValueError:
                    weight = 0.0
        if tag.strip() and tag.strip() != "*" and weight > 0:
            ranked.append((-weight, position, tag.strip()))
    for _weight, _position, tag in sorted(ranked):
        if (found := _match(tag)) is not None:
            return found
    return None


def translations(language: str | None) -> Translations:
    """The catalogue of `language`, or English's for a language without one."""
    return _translations(resolve(language))


@functools.cache
def _translations(language: str) -> Translations:
    # The .po is compiled to .mo in memory on first use, once per language and process: no
    # build step to forget, no binary .mo files in git to drift from their sources, and a
    # catalogue of a few hundred messages compiles in milliseconds. Fuzzy entries are left
    # out, as msgfmt does, so a guess a translator has not confirmed reads in English.
    path = catalogue_path(language)
    if path.is_file():
        with path.open("rb") as po:
            catalog = read_po(po, locale=language, domain=DOMAIN)
    else:
        catalog = Catalog(locale=language, domain=DOMAIN)
    mo = io.BytesIO()
    write_mo(mo, catalog, use_fuzzy=False)
    mo.seek(0)
    compiled = Translations(fp=mo, domain=DOMAIN)
    if language != SOURCE_LANGUAGE:
        # A message this catalogue lacks reads as English does, corrections included.
        compiled.add_fallback(_translations(SOURCE_LANGUAGE))
    return compiled


def locale(language: str | None) -> Locale:
    """Babel's locale data (CLDR) for the language a reader of `language` gets."""
    return _locale(resolve(language))


@functools.cache
def _locale(language: str) -> Locale:
    return Locale.parse(language)


def direction(language: str | None) -> str:
    """`rtl` for right-to-left scripts (Arabic, Hebrew, Persian, Urdu…), else `ltr`."""
    return "rtl" if locale(language).character_order == "right-to-left" else "ltr"


def language_name(language: str) -> str:
    """A language's name in that language, as a list of choices shows it: `Español`."""
    name = Locale.parse(language.replace("-", "_")).get_display_name(language) or language
    return name[:1].upper() + name[1:]
