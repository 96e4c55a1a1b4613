"""The settings of a running `journeys dev`, kept in its state folder for as long as it runs.

A `journeys` command started in another terminal of the same folder reads from
`<state dir>/dev.env` what its environment lacks (command_settings.py), so nothing needs
exporting beside `make dev`. The file holds exactly what the stack's worker and API run with,
the payload keys among them: mode 0600, like the key file next to it.

It is written whole (a temporary file renamed over it) once everything answers, and removed
when the stack stops. A file there therefore means a stack runs: a command started after Ctrl-C
says that no `journeys dev` runs here rather than knocking at addresses that no longer answer.
A stack killed outright leaves it behind; commands then name the address that does not answer
and the file it came from, and the next `journeys dev` replaces it.
"""

import contextlib
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path

from command_settings import DEV_ENV_FILE


def dev_env_path(state_dir: Path) -> Path:
    return state_dir / DEV_ENV_FILE


def _quoted(value: str) -> str:
    # Single quotes keep `$`, `#` and spaces literal for python-dotenv (which pydantic-settings
    # reads the file with); inside them it unescapes only `\\` and `\'`.
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def dev_env_text(values: Mapping[str, str], *, header: str) -> str:
    lines = [f"# {line}".rstrip() for line in header.splitlines()]
    lines += [f"{name}={_quoted(value)}" for name, value in sorted(values.items())]
    return "\n".join(lines) + "\n"


def write_dev_env(state_dir: Path, values: Mapping[str, str], *, header: str) -> str:
    """Write `values` (`JOURNEYS_*` names) to the state folder's file, replacing it whole, so a
    command never reads half a file; returns the text written."""
    text = dev_env_text(values, header=header)
    state_dir.mkdir(parents=True, exist_ok=True)
    # mkstemp makes the file 0600 from the start: the keys are never readable by others.
    fd, temporary = tempfile.mkstemp(dir=state_dir, prefix=f".{DEV_ENV_FILE}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, dev_env_path(state_dir))
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
    return text


def remove_dev_env(state_dir: Path, written: str) -> None:
    """Remove the file if it still holds what this stack wrote: any other content is another
    stack's, started since on the same state folder."""
    path = dev_env_path(state_dir)
    with contextlib.suppress(OSError):
        if path.read_text() == written:
            path.unlink()
