"""The README and docs/ stay walkable: every repository path they name exists, every link
into the repository lands on a file and, with an anchor, on one of its headings, every setting
is documented, and the README stays a short map. No servers: this runs in a second."""

import re
import subprocess
from pathlib import Path

import pytest

from settings import Settings

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
DOCS = sorted((ROOT / "docs").glob("*.md"))
PAGES = [README, *DOCS]

README_MAX_LINES = 320

# Places that exist only at run time or on an operator's host, never in the repository: the
# state of `journeys dev`, the tests' screenshots, the virtual environment.
RUNTIME_ROOTS = (".journeys", "test-output", ".venv")

# A bare file name (no folder) is taken for a repository path when it ends so.
CODE_SUFFIXES = (
    ".py", ".md", ".yml", ".yaml", ".toml", ".sh", ".cfg", ".lock", ".sql", ".pot", ".po",
    ".html", ".template", ".json", ".ttf", ".example",
)  # fmt: skip

FENCE = re.compile(r"^( {0,3})(```|~~~).*?^\1\2[ \t]*$", re.MULTILINE | re.DOTALL)
CODE_SPAN = re.compile(r"`([^`\n]+)`")
LINK = re.compile(r"\[[^\]\n]*\]\(([^)\s]+)\)")
HEADING = re.compile(r"^#{1,6}\s+(.+?)\s*#*\s*$", re.MULTILINE)
PATH_LIKE = re.compile(r"^\.?[\w-][\w.-]*(/[\w.-]*)*/?$")
# Where a placeholder or a pattern starts, the rest of a path is not a path.
PLACEHOLDER = re.compile(r"[<{*…]|\.\.\.")


def tracked() -> set[str]:
    """Every file git tracks, and every folder above one."""
    listed = subprocess.run(
        ["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    paths = set(listed)
    for file in listed:
        parts = file.split("/")
        paths.update("/".join(parts[:i]) for i in range(1, len(parts)))
    return paths


TRACKED = tracked()
TOP_LEVEL = {p for p in TRACKED if "/" not in p}
BASENAMES = {p.rsplit("/", 1)[-1] for p in TRACKED}


def prose(text: str) -> str:
    """The text without its fenced code blocks (commands and samples, not references)."""
    return FENCE.sub("", text)


def path_of(span: str) -> str | None:
    """The repository path a code span names, or None when it names none.

    `api/codec/routes.py`, `api/reads/`, `integrations/data_converter.py::build_data_converter`
    and `i18n/locales/<lang>/LC_MESSAGES/messages.po` (up to its placeholder) name paths;
    `/staff/`, `application/problem+json` and `10.0.0.0/24` do not.
    """
    text = span.strip().split("::", 1)[0]
    text = re.sub(r":\d+$", "", text).removeprefix("./")
    cut = PLACEHOLDER.search(text)
    if cut:
        text = text[: cut.start()]
        if "/" not in text:
            return None
        text = text[: text.rindex("/") + 1]
    if not text or " " in text or text.startswith("/") or not PATH_LIKE.match(text):
        return None
    first = text.split("/", 1)[0]
    if "/" in text:
        if first in TOP_LEVEL or first in RUNTIME_ROOTS or text.endswith(CODE_SUFFIXES):
            return text
        return None
    if text in CODE_SUFFIXES:
        return None
    return text if text.endswith(CODE_SUFFIXES) else None


def exists(path: str) -> bool:
    path = path.rstrip("/")
    if path.split("/", 1)[0] in RUNTIME_ROOTS:
        return True
    if "/" not in path:
        return path in TRACKED or path in BASENAMES
    return path in TRACKED


def slug(heading: str) -> str:
    """GitHub's anchor for a heading."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading)
    text = text.replace("`", "").lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def anchors(page: Path) -> set[str]:
    return {slug(h) for h in HEADING.findall(prose(page.read_text()))}


def named_paths(page: Path) -> list[str]:
    found = (path_of(span) for span in CODE_SPAN.findall(prose(page.read_text())))
    return sorted({p for p in found if p is not None})


def links(page: Path) -> list[str]:
    """Targets of links within the repository: no addresses (`https:`), no placeholders."""
    return [
        t
        for t in LINK.findall(prose(page.read_text()))
        if not re.match(r"\w+:", t) and not PLACEHOLDER.search(t)
    ]


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_every_named_path_exists(page: Path) -> None:
    missing = [p for p in named_paths(page) if not exists(p)]
    assert not missing, f"{page.name} names paths the repository lacks: {missing}"


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_every_link_lands(page: Path) -> None:
    broken = []
    for target in links(page):
        file, _, anchor = target.partition("#")
        landing = (page.parent / file).resolve() if file else page
        if not landing.is_relative_to(ROOT):
            broken.append(f"{target} (outside the repository)")
        elif not landing.exists():
            broken.append(f"{target} (no such file)")
        elif anchor and landing.suffix == ".md" and anchor not in anchors(landing):
            broken.append(f"{target} (no such heading)")
    assert not broken, f"{page.name} has broken links: {broken}"


def test_the_readme_is_a_short_map() -> None:
    lines = README.read_text().splitlines()
    assert len(lines) <= README_MAX_LINES, f"README.md has {len(lines)} lines"
    text = README.read_text()
    assert "DESIGN.md" not in text and "../" not in text
    for doc in DOCS:
        assert f"(docs/{doc.name})" in text, f"README.md does not link docs/{doc.name}"


def test_every_setting_is_documented() -> None:
    text = (ROOT / "docs" / "configuration.md").read_text()
    missing = [
        f"JOURNEYS_{name.upper()}"
        for name in Settings.model_fields
        if f"`JOURNEYS_{name.upper()}`" not in text
    ]
    assert not missing, f"docs/configuration.md lacks {missing}"


def test_the_path_finder() -> None:
    """The finder must see paths, or every check above passes on nothing."""
    assert path_of("api/codec/routes.py") == "api/codec/routes.py"
    assert path_of("integrations/data_converter.py::build_data_converter") == (
        "integrations/data_converter.py"
    )
    assert path_of("i18n/locales/<lang>/LC_MESSAGES/messages.po") == "i18n/locales/"
    assert path_of("test-output/browser/<test>/") == "test-output/browser/"
    assert path_of("settings.py") == "settings.py"
    assert path_of("integration/smtp.py") == "integration/smtp.py"
    assert not exists("integration/smtp.py")
    for not_a_path in (
        "/staff/",
        "application/problem+json",
        "10.0.0.0/24",
        "journey-<id>",
        ".po",
    ):
        assert path_of(not_a_path) is None, not_a_path
    assert slug("Reading payloads: the codec server") == "reading-payloads-the-codec-server"
    assert slug("The clinic's webhook") == "the-clinics-webhook"
    assert len(named_paths(README)) > 3 and len(links(README)) > 3
