"""Layers point one way: replaying histories loads the workflows without the worker's outside
systems, and the worker signs patient links without the API."""

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _loaded_by(module: str, prefixes: tuple[str, ...]) -> list[str]:
    """The modules among `prefixes` that importing `module` loads in a fresh interpreter."""
    code = (
        f"import json, sys, {module}; "
        f"print(json.dumps(sorted(m for m in sys.modules if m.startswith({prefixes!r}))))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    loaded: list[str] = json.loads(done.stdout)
    return loaded


def _named(modules: list[str], *names: str) -> list[str]:
    return [m for m in modules if m in names or m.startswith(tuple(f"{n}." for n in names))]


def test_replay_loads_neither_smtp_nor_caldav_nor_fhir_nor_the_worker() -> None:
    loaded = _loaded_by(
        "audit.replay", ("aiosmtplib", "caldav", "fhir", "worker", "api", "integrations")
    )
    assert _named(loaded, "aiosmtplib", "caldav", "fhir", "worker", "api") == []
    assert _named(loaded, "integrations.caldav_calendar", "integrations.fhir_gateway") == []


def test_the_worker_does_not_import_the_api() -> None:
    assert _named(_loaded_by("worker", ("api",)), "api") == []
