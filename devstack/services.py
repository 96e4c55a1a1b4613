"""Starting the embedded services, one call each, each answering with its address.

`journeys dev` and the benchmark both start their PostgreSQL, Temporal dev server, mailbox and
CalDAV server here, so the benchmark measures the servers, and the settings, that a developer
runs. Every process and server started is stopped with `stop()`, newest first.
"""

import asyncio
import contextlib
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from temporalio.client import Client

from devstack.mailbox import READY, start_mailbox
from devstack.ports import answers
from devstack.postgres import EmbeddedPostgres, start_postgres
from devstack.processes import Child, spawn
from devstack.radicale import radicale_command
from devstack.temporal_server import SQLITE_PRAGMAS, dev_server_command
from devstack.ui_proxy import proxy_command
from integrations.temporal_client import connect_temporal, ensure_search_attributes
from settings import Settings

START_TIMEOUT = 60.0


class StartupFailed(Exception):
    """A part of the stack did not come up; the message says which and why."""


async def wait_until(
    check: Callable[[], Any],
    what: str,
    child: Child | None = None,
    *,
    within: float = START_TIMEOUT,
    every: float = 0.2,
) -> None:
    """Until `check()` (or the coroutine it returns) is true; fails at once if `child` exits."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if child is not None and not child.running:
            raise StartupFailed(
                f"{what} exited during start-up (code {child.process.returncode}); "
                f"last lines of {child.log_path}:\n{child.log_tail()}"
            )
        result = check()
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return
        await asyncio.sleep(every)
    raise StartupFailed(f"{what} did not answer within {within:.0f} s")


async def connect_when_healthy(
    settings: Settings, target: str, *, within: float = START_TIMEOUT
) -> Client:
    """A client of the Temporal frontend at `target` (with the data converter the settings
    give), once it answers its health check."""
    deadline = time.monotonic() + within
    while True:
        try:
            client = await connect_temporal(settings, address=target)
            await client.service_client.check_health()
            return client
        except RuntimeError as err:
            if time.monotonic() > deadline:
                raise StartupFailed(f"Temporal at {target} does not answer: {err}") from err
            await asyncio.sleep(0.3)


def log_says(child: Child, text: str) -> bool:
    try:
        return text in child.log_path.read_text(errors="replace")
    except OSError:
        return False


@dataclass(frozen=True)
class TemporalService:
    """A started Temporal dev server, its search attributes registered."""

    child: Child
    port: int
    ui_port: int
    client: Client

    @property
    def target(self) -> str:
        return f"127.0.0.1:{self.port}"


class Services:
    """Starts the embedded services and owns them: `stop()` ends each, newest first.

    Child processes log to `<logs>/<name>.log` and get `env` unless a call gives its own.
    """

    def __init__(self, *, logs: Path, env: dict[str, str]) -> None:
        self.logs = logs
        self.env = env
        self.children: list[Child] = []
        self._stoppers: list[tuple[str, Callable[[], None]]] = []

    def spawn(
        self,
        name: str,
        argv: Sequence[str],
        *,
        env: dict[str, str] | None = None,
        log_name: str | None = None,
    ) -> Child:
        slug = log_name or name.lower().replace(" ", "-")
        child = spawn(name, argv, log_path=self.logs / f"{slug}.log", env=env or self.env)
        self.children.append(child)
        self.on_stop(name, child.stop)
        return child

    def on_stop(self, name: str, stop: Callable[[], None]) -> None:
        self._stoppers.append((name, stop))

    def failed_child(self) -> Child | None:
        return next((c for c in self.children if not c.running), None)

    def stop(self, told: Callable[[str], None] = lambda name: None) -> None:
        """Stop everything started, newest first; safe to call twice. `told(name)` after each."""
        while self._stoppers:
            name, stop = self._stoppers.pop()
            with contextlib.suppress(Exception):
                stop()
            told(name)

    async def postgres(self, datadir: Path) -> EmbeddedPostgres:
        """The embedded PostgreSQL with its data in `datadir`; its URI is `get_uri()`."""
        server = await asyncio.to_thread(start_postgres, datadir)
        self.on_stop("PostgreSQL", server.cleanup)
        return server

    async def temporal(
        self,
        *,
        db_file: Path,
        port: int,
        ui_port: int,
        name: str = "Temporal",
        log_name: str | None = None,
        log_level: str = "warn",
        sqlite_pragmas: Sequence[str] = SQLITE_PRAGMAS,
        extra_args: Sequence[str] = (),
        settings: Settings,
        codec_endpoint: str | None = None,
    ) -> TemporalService:
        """The Temporal dev server with its Web UI, both answering, search attributes
        registered; the client has the data converter `settings` give."""
        child = self.spawn(
            name,
            dev_server_command(
                db_file=db_file,
                port=port,
                ui_port=ui_port,
                log_level=log_level,
                sqlite_pragmas=sqlite_pragmas,
                extra_args=extra_args,
                codec_endpoint=codec_endpoint,
            ),
            log_name=log_name,
        )
        await wait_until(lambda: answers(port), "Temporal gRPC", child)
        await wait_until(lambda: answers(ui_port), "Temporal Web UI", child)
        client = await connect_when_healthy(settings, f"127.0.0.1:{port}")
        await ensure_search_attributes(client)
        return TemporalService(child=child, port=port, ui_port=ui_port, client=client)

    async def same_origin_proxy(
        self,
        *,
        port: int,
        upstream: str,
        routes: Mapping[str, str],
        name: str = "Temporal UI proxy",
        log_name: str | None = None,
    ) -> str:
        """`upstream` served on 127.0.0.1:`port`, with each of `routes` (path prefix to URL)
        passed to its own server on that same origin (devstack/ui_proxy.py); returns its URL."""
        child = self.spawn(
            name,
            proxy_command(port=port, upstream=upstream, routes=routes, python=sys.executable),
            log_name=log_name,
        )
        await wait_until(lambda: answers(port), name, child)
        return f"http://127.0.0.1:{port}"

    async def caldav(
        self, *, storage: Path, port: int, name: str = "CalDAV", log_name: str | None = None
    ) -> str:
        """Radicale keeping its calendars in `storage`, answering; returns its URL."""
        child = self.spawn(name, radicale_command(storage=storage, port=port), log_name=log_name)
        await wait_until(lambda: answers(port), "the CalDAV server", child)
        return f"http://127.0.0.1:{port}/"

    def mailbox(self, directory: Path, port: int) -> None:
        """The SMTP mailbox in a thread of this process, keeping messages in `directory`."""
        controller = start_mailbox(directory, port=port)
        self.on_stop("SMTP mailbox", controller.stop)

    async def mailbox_process(
        self, directory: Path, port: int, *, name: str = "mailbox", log_name: str | None = None
    ) -> Child:
        """The SMTP mailbox in a process of its own, so that its CPU is counted apart."""
        child = self.spawn(
            name,
            [sys.executable, "-m", "devstack.mailbox", str(directory), str(port)],
            log_name=log_name,
        )
        await wait_until(lambda: log_says(child, READY), "the SMTP mailbox", child)
        return child
