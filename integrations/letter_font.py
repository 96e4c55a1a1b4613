"""The letter's font, cut down to the characters a letter can need, once per process.

fpdf2 parses the whole TrueType file for every document and subsets its copy in place when it
writes the PDF, so a parsed font cannot be shared between letters. DejaVu Sans has about 6,000
glyphs; a letter in Latin script uses a few dozen. So each process cuts the font once per set
of code-point pages (blocks of 128 code points) that letters use: a letter in Spanish or
English with a Latin name needs two or three pages (about 300 glyphs), and loading that cut is
a fraction of loading the whole font. The cut keeps every glyph of its pages, so a name
needing another page gets its own cut, and a character the font lacks is still missing.

The cuts are files in a private temporary folder, removed when the process exits, because
fpdf2 loads fonts from a path. If that folder cannot be written, letters use the whole font.
"""

import atexit
import hashlib
import logging
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from functools import cache, lru_cache
from importlib.resources import as_file, files
from pathlib import Path

from fontTools import ttLib
from fontTools.subset import Options, Subsetter

log = logging.getLogger(__name__)

FONT = files("integrations").joinpath("fonts/DejaVuSans.ttf")
# Code points are grouped by 128: ASCII, Latin-1 Supplement, Latin Extended-A, and so on.
PAGE_BITS = 7
# Distinct sets of pages seen in practice are few; this only bounds a pathological stream.
MAX_CUTS = 64


def pages_of(characters: Iterable[str]) -> frozenset[int]:
    return frozenset(ord(ch) >> PAGE_BITS for ch in characters)


@contextmanager
def font_for(characters: Iterable[str]) -> Iterator[Path]:
    """A path to a font with every glyph DejaVu Sans has for these characters' pages."""
    pages = pages_of(characters)
    cut = _cut(pages)
    if cut is not None and not cut.is_file():
        # A cleaner of temporary files removed it while the process ran: cut again.
        _cut.cache_clear()
        _folder.cache_clear()
        cut = _cut(pages)
    if cut is not None:
        yield cut
        return
    # as_file gives fpdf2 a real path even when the package is installed as a zip.
    with as_file(FONT) as whole:
        yield whole


@lru_cache(maxsize=MAX_CUTS)
def _cut(pages: frozenset[int]) -> Path | None:
    key = ",".join(str(p) for p in sorted(pages))
    try:
        target = _folder() / f"DejaVuSans-{hashlib.sha256(key.encode()).hexdigest()[:16]}.ttf"
        with as_file(FONT) as whole:
            # recalcTimestamp=False keeps the cut, and so each letter, byte-identical.
            font = ttLib.TTFont(whole, recalcTimestamp=False)
        keep = [cp for cp in font.getBestCmap() if cp >> PAGE_BITS in pages]
        options = Options(notdef_outline=True, recommended_glyphs=True, glyph_names=True)
        # FontForge's timestamps: nothing reads them, and fontTools cannot cut them.
        options.drop_tables += ["FFTM"]
        subsetter = Subsetter(options)
        subsetter.populate(unicodes=keep)
        subsetter.subset(font)
        font.save(target)
    except OSError as err:
        log.warning("letters use the whole font: cannot write a cut of it: %s", err)
        return None
    return target


@cache
def _folder() -> Path:
    folder = Path(tempfile.mkdtemp(prefix="journeys-letter-fonts-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    return folder
