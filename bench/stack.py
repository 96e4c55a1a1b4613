"""The real local parts the benchmarks run on, started in a temporary folder and all stopped
at the end: embedded PostgreSQL, the Temporal dev server (SQLite file, WAL), the SMTP mailbox,
Radicale, and API and worker processes configured by `JOURNEYS_*` variables.
"""

import asyncio
import contextlib
import json
import os
import signal
import sys
import time
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from pydantic import SecretStr
from temporalio.client import Client
from temporalio.testing import TimeSkipper, TimeSkippingConfig

from db.migrate import migrate_url
from devstack.demo_staff import demo_specialists, seed_demo_staff
from devstack.ports import answers, free_port
from devstack.postgres import EmbeddedPostgres, start_postgres
from devstack.processes import Child, spawn
from devstack.radicale import radicale_command
from devstack.temporal_server import SQLITE_PRAGMAS, dev_server_command
from integrations.calendar import specialist_calendar
from integrations.payload_keys import new_payload_key_entry
from integrations.temporal_client import connect_temporal, ensure_search_attributes
from settings import Settings
from worker import calendar_client

ROOT = Path(__file__).resolve().parent.parent
START_TIMEOUT = 60.0
TEMPLATE_DB = "bench_template"

# Per-workflow time skipping (server 1.32, experimental): the orchestration benchmark moves a
# journey's own clock forward instead of waiting days. Each skip is a timer task, and the
# timer queue's defaults make skips slow: `timerProcessorMaxTimeShift` (1 s) delays every
# skip by up to a second, and `timerProcessorMaxPollRPS` (20 polls a second) throttles them
# once a run makes a few in a row. Measured alone: 20 skips of one run 19.6 s with both
# defaults, 3.7 s with the shift at 10 ms, 0.24 s with both raised. They only touch the timer
# queue, which the other benchmarks barely use.
TIME_SKIPPING_ARGS = ("--dynamic-config-value", "frontend.WorkflowTimeSkippingEnabled=true")
FAST_TIMER_ARGS = (
    "--dynamic-config-value",
    'history.timerProcessorMaxTimeShift="10ms"',
    "--dynamic-config-value",
    "history.timerProcessorMaxPollRPS=10000",
    "--dynamic-config-value",
    "history.timerProcessorMaxPollHostRPS=100000",
)


@dataclass(frozen=True)
class ServerVariant:
    """How the dev server is started: the benchmark's default, or one knob turned back."""

    wal: bool = True
    fast_timers: bool = True

    def args(self, *, db_file: Path, port: int, ui_port: int) -> list[str]:
        cmd = dev_server_command(db_file=db_file, port=port, ui_port=ui_port, log_level="error")
        if not self.wal:
            pragmas = {f"{p}" for p in SQLITE_PRAGMAS}
            kept: list[str] = []
            skip = False
            for arg in cmd:
                if skip:
                    skip = False
                    continue
                if arg == "--sqlite-pragma":
                    skip = True
                    continue
                kept.append(arg)
            assert not pragmas & set(kept)
            cmd = kept
        cmd += TIME_SKIPPING_ARGS
        if self.fast_timers:
            cmd += FAST_TIMER_ARGS
        return cmd


def _db_url(server_uri: str, name: str) -> str:
    base, _, query = server_uri.partition("?")
    return f"{base.rsplit('/', 1)[0]}/{name}?{query}"


async def wait_until(
    check: Callable[[], Any], what: str, child: Child | None = None, within: float = START_TIMEOUT
) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if child is not None and not child.running:
            raise RuntimeError(f"{what} exited during start-up:\n{child.log_tail()}")
        result = check()
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return
        await asyncio.sleep(0.1)
    raise RuntimeError(f"{what} did not start within {within:.0f} s")


async def _interrupt(child: Child, within: float = 20.0) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(child.process.pid, signal.SIGINT)
    deadline = time.monotonic() + within
    while True:
        if not child.running or time.monotonic() > deadline:
            return
        await asyncio.sleep(0.1)


def _log_says(child: Child, text: str) -> bool:
    try:
        return text in child.log_path.read_text(errors="replace")
    except OSError:
        return False


@dataclass
class Api:
    http: httpx.AsyncClient
    child: Child


@dataclass
class TemporalServer:
    child: Child
    port: int
    client: Client
    skipper: TimeSkipper

    @property
    def target(self) -> str:
        return f"127.0.0.1:{self.port}"


@dataclass
class BenchStack:
    """Owns every process and server it started; `stop()` ends them, newest first."""

    root: Path
    say: Callable[[str], None] = print
    children: list[Child] = field(default_factory=list)
    pg: EmbeddedPostgres | None = None
    smtp_port: int = 0
    caldav_url: str = ""
    temporal: TemporalServer | None = None
    # When set, the API and the workers run under cProfile, one .prof file per process.
    profile_dir: Path | None = None
    # Payloads are encrypted as in production, so the figures include the codec's cost.
    payload_keys: str = field(default_factory=lambda: new_payload_key_entry("bench"))
    _stoppers: list[Callable[[], None]] = field(default_factory=list)

    # ------------------------------------------------------------------------ start, stop
    async def start(self, variant: ServerVariant = ServerVariant()) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        self.pg = await asyncio.to_thread(start_postgres, self.root / "pgdata")
        self._stoppers.append(self.pg.cleanup)
        await self._template()
        self.smtp_port = free_port()
        mailbox = self._spawn(
            "mailbox",
            [
                sys.executable,
                "-m",
                "bench.mailbox_proc",
                str(self.root / "mail"),
                str(self.smtp_port),
            ],
            self.base_env(),
        )
        caldav_port = free_port()
        radicale = self._spawn(
            "radicale",
            radicale_command(storage=self.root / "calendars", port=caldav_port),
            self.base_env(),
        )
        await wait_until(lambda: _log_says(mailbox, "READY"), "the SMTP mailbox", mailbox)
        await wait_until(lambda: answers(caldav_port), "Radicale", radicale)
        self.caldav_url = f"http://127.0.0.1:{caldav_port}/"
        calendar = calendar_client(Settings(caldav_url=self.caldav_url))
        assert calendar is not None
        for staff_id in demo_specialists():
            await calendar.ensure_calendar(specialist_calendar(staff_id), f"Consults {staff_id}")
        self.temporal = await self.start_temporal(variant)

    async def start_temporal(
        self, variant: ServerVariant, name: str = "temporal"
    ) -> TemporalServer:
        port, ui_port = free_port(), free_port()
        child = self._spawn(
            name,
            variant.args(db_file=self.root / f"{name}.db", port=port, ui_port=ui_port),
            self.base_env(),
        )
        await wait_until(lambda: answers(port), "the Temporal dev server", child)
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            try:
                client = await connect_temporal(
                    Settings(environment="development", payload_keys=SecretStr(self.payload_keys)),
                    address=f"127.0.0.1:{port}",
                )
                await client.service_client.check_health()
                break
            except RuntimeError:
                if time.monotonic() > deadline:
                    raise
                await asyncio.sleep(0.2)
        await ensure_search_attributes(client)
        skipper = TimeSkipper(client, config=TimeSkippingConfig(enabled=False))
        return TemporalServer(child=child, port=port, client=client, skipper=skipper)

    def child_named(self, name: str) -> Child | None:
        return next((c for c in reversed(self.children) if c.name == name and c.running), None)

    def stop(self) -> None:
        while self._stoppers:
            stop = self._stoppers.pop()
            with contextlib.suppress(Exception):
                stop()

    def _python(self, name: str, module_argv: list[str]) -> list[str]:
        """`python -m ...`, under cProfile when profiling."""
        if self.profile_dir is None:
            return [sys.executable, "-m", *module_argv]
        self.profile_dir.mkdir(parents=True, exist_ok=True)
        out = self.profile_dir / f"{name}-{len(self.children)}.prof"
        return [sys.executable, "-m", "cProfile", "-o", str(out), "-m", *module_argv]

    def _spawn(self, name: str, argv: Sequence[str], env: dict[str, str]) -> Child:
        slug = f"{name}-{len(self.children)}"
        child = spawn(name, argv, log_path=self.root / "logs" / f"{slug}.log", env=env)
        self.children.append(child)
        self._stoppers.append(child.stop)
        return child

    # -------------------------------------------------------------------------- databases
    @property
    def postmaster_pid(self) -> int | None:
        """The PostgreSQL server's pid, from its pid file (the package does not expose it)."""
        try:
            return int((self.root / "pgdata" / "postmaster.pid").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return None

    @property
    def pg_uri(self) -> str:
        assert self.pg is not None
        return self.pg.get_uri()

    async def _template(self) -> None:
        admin = await asyncpg.connect(self.pg_uri)
        try:
            await admin.execute(f"DROP DATABASE IF EXISTS {TEMPLATE_DB}")
            await admin.execute(f"CREATE DATABASE {TEMPLATE_DB}")
        finally:
            await admin.close()
        url = _db_url(self.pg_uri, TEMPLATE_DB)
        await migrate_url(url)
        await seed_demo_staff(url)

    async def database(self, name: str) -> str:
        """A fresh, migrated database with the demo staff, for one part of the benchmark."""
        admin = await asyncpg.connect(self.pg_uri)
        try:
            await admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
            await admin.execute(f"CREATE DATABASE {name} TEMPLATE {TEMPLATE_DB}")
        finally:
            await admin.close()
        return _db_url(self.pg_uri, name)

    # ------------------------------------------------------------------ settings and env
    def base_env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("JOURNEYS_")}
        env["PYTHONUNBUFFERED"] = "1"
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH")) if p)
        return env

    def settings(
        self,
        *,
        database_url: str,
        task_queue: str,
        api_port: int = 8000,
        server: TemporalServer | None = None,
    ) -> Settings:
        server = server or self.temporal
        assert server is not None
        return Settings(
            # The bench runs on the development secrets, which production refuses.
            environment="development",
            state_dir=self.root / "state",
            database_url=database_url,
            temporal_address=server.target,
            task_queue=task_queue,
            smtp_host="127.0.0.1",
            smtp_port=self.smtp_port,
            caldav_url=self.caldav_url,
            api_host="127.0.0.1",
            api_port=api_port,
            public_base_url=f"http://127.0.0.1:{api_port}",
            form_rate_limit_per_minute=1_000_000_000,
            intake_sweep_seconds=0,
            payload_keys=SecretStr(self.payload_keys),
        )

    def env_for(self, settings: Settings) -> dict[str, str]:
        env = self.base_env()
        for name, value in settings.model_dump(exclude_none=True).items():
            if hasattr(value, "get_secret_value"):
                value = value.get_secret_value()
            env[f"JOURNEYS_{name.upper()}"] = str(value)
        return env

    # ----------------------------------------------------------------- API and workers
    @contextlib.asynccontextmanager
    async def api(self, settings: Settings) -> AsyncIterator[Api]:
        """`journeys api` (uvicorn) in its own process, and an HTTP client for it."""
        child = self._spawn("api", self._python("api", ["cli", "api"]), self.env_for(settings))
        base = f"http://{settings.api_host}:{settings.api_port}"
        limits = httpx.Limits(max_connections=200, max_keepalive_connections=200)
        try:
            # The client closes first: uvicorn's graceful stop waits for open connections.
            async with httpx.AsyncClient(base_url=base, timeout=120, limits=limits) as http:

                async def ready() -> bool:
                    try:
                        return (await http.get("/readyz")).status_code == 200
                    except httpx.HTTPError:
                        return False

                await wait_until(ready, "the API", child)
                yield Api(http=http, child=child)
        finally:
            if self.profile_dir is not None:
                # uvicorn re-raises SIGTERM after its graceful stop, which kills the profiler
                # before it writes; SIGINT's KeyboardInterrupt lets it write first.
                await _interrupt(child)
            child.stop()

    @contextlib.asynccontextmanager
    async def worker(
        self, kind: str, settings: Settings, options: dict[str, Any]
    ) -> AsyncIterator[Child]:
        """A worker process (`bench.worker_proc`): the project's or the baseline's."""
        argv = self._python(
            f"worker-{kind}", ["bench.worker_proc", kind, "--options", json.dumps(options)]
        )
        child = self._spawn(f"worker-{kind}", argv, self.env_for(settings))
        try:
            await wait_until(lambda: _log_says(child, "READY"), f"the {kind} worker", child)
            yield child
        finally:
            child.stop()
