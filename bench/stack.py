"""The real local parts the benchmarks run on, started in a temporary folder and all stopped
at the end: embedded PostgreSQL, the Temporal dev server (SQLite file, WAL), the SMTP mailbox,
Radicale, and API and worker processes configured by `JOURNEYS_*` variables.

Each service is started by `devstack.services`, as `journeys dev` starts it; what is the
benchmark's own is below: the dev server's time-skipping settings, a template database copied
for each part, the mailbox in a process of its own, and the API and workers as processes.
"""

import asyncio
import contextlib
import json
import os
import signal
import sys
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from pydantic import SecretStr
from temporalio.testing import TimeSkipper, TimeSkippingConfig

from db.migrate import migrate_url
from devstack.demo_staff import seed_demo_calendars, seed_demo_staff
from devstack.ports import free_port
from devstack.postgres import EmbeddedPostgres, create_database, postmaster_pid
from devstack.processes import Child
from devstack.services import Services, TemporalService, log_says, wait_until
from devstack.temporal_server import SQLITE_PRAGMAS
from integrations.payload_keys import new_payload_key_entry
from settings import Settings

ROOT = Path(__file__).resolve().parent.parent
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

    @property
    def sqlite_pragmas(self) -> tuple[str, ...]:
        return SQLITE_PRAGMAS if self.wal else ()

    @property
    def extra_args(self) -> tuple[str, ...]:
        return TIME_SKIPPING_ARGS + (FAST_TIMER_ARGS if self.fast_timers else ())


async def _interrupt(child: Child, within: float = 20.0) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(child.process.pid, signal.SIGINT)
    deadline = time.monotonic() + within
    while True:
        if not child.running or time.monotonic() > deadline:
            return
        await asyncio.sleep(0.1)


@dataclass
class Api:
    http: httpx.AsyncClient
    child: Child


@dataclass(frozen=True)
class TemporalServer(TemporalService):
    """A dev server of the benchmark, with the time skipper that moves its runs' clocks."""

    skipper: TimeSkipper


@dataclass
class BenchStack:
    """Owns every process and server it started; `stop()` ends them, newest first."""

    root: Path
    say: Callable[[str], None] = print
    pg: EmbeddedPostgres | None = None
    smtp_port: int = 0
    caldav_url: str = ""
    temporal: TemporalServer | None = None
    # When set, the API and the workers run under cProfile, one .prof file per process.
    profile_dir: Path | None = None
    # Payloads are encrypted as in production, so the figures include the codec's cost.
    payload_keys: str = field(default_factory=lambda: new_payload_key_entry("bench"))
    services: Services = field(init=False)

    def __post_init__(self) -> None:
        self.services = Services(logs=self.root / "logs", env=self.base_env())

    async def start(self, variant: ServerVariant = ServerVariant()) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        self.pg = await self.services.postgres(self.root / "pgdata")
        await self._template()
        self.smtp_port = free_port()
        await self.services.mailbox_process(
            self.root / "mail", self.smtp_port, log_name=self._log_name("mailbox")
        )
        self.caldav_url = await self.services.caldav(
            storage=self.root / "calendars",
            port=free_port(),
            name="radicale",
            log_name=self._log_name("radicale"),
        )
        caldav = Settings()
        await seed_demo_calendars(
            self.caldav_url,
            username=caldav.caldav_username,
            password=caldav.caldav_password.get_secret_value(),
        )
        self.temporal = await self.start_temporal(variant)

    async def start_temporal(
        self, variant: ServerVariant, name: str = "temporal"
    ) -> TemporalServer:
        service = await self.services.temporal(
            db_file=self.root / f"{name}.db",
            port=free_port(),
            ui_port=free_port(),
            name=name,
            log_name=self._log_name(name),
            log_level="error",
            sqlite_pragmas=variant.sqlite_pragmas,
            extra_args=variant.extra_args,
            settings=Settings(environment="development", payload_keys=SecretStr(self.payload_keys)),
        )
        skipper = TimeSkipper(service.client, config=TimeSkippingConfig(enabled=False))
        return TemporalServer(
            child=service.child,
            port=service.port,
            ui_port=service.ui_port,
            client=service.client,
            skipper=skipper,
        )

    def child_named(self, name: str) -> Child | None:
        children = self.services.children
        return next((c for c in reversed(children) if c.name == name and c.running), None)

    def stop(self) -> None:
        self.services.stop()

    def _log_name(self, name: str) -> str:
        # The same part can run many times in one benchmark (an API per section).
        return f"{name}-{len(self.services.children)}"

    def _python(self, name: str, module_argv: list[str]) -> list[str]:
        """`python -m ...`, under cProfile when profiling."""
        if self.profile_dir is None:
            return [sys.executable, "-m", *module_argv]
        self.profile_dir.mkdir(parents=True, exist_ok=True)
        out = self.profile_dir / f"{name}-{len(self.services.children)}.prof"
        return [sys.executable, "-m", "cProfile", "-o", str(out), "-m", *module_argv]

    def _spawn(self, name: str, argv: list[str], env: dict[str, str]) -> Child:
        return self.services.spawn(name, argv, env=env, log_name=self._log_name(name))

    @property
    def postmaster_pid(self) -> int | None:
        return postmaster_pid(self.root / "pgdata")

    @property
    def pg_uri(self) -> str:
        assert self.pg is not None
        return self.pg.get_uri()

    async def _template(self) -> None:
        url = await create_database(self.pg_uri, TEMPLATE_DB)
        await migrate_url(url)
        await seed_demo_staff(url)

    async def database(self, name: str) -> str:
        """A fresh, migrated database with the demo staff, for one part of the benchmark."""
        return await create_database(self.pg_uri, name, template=TEMPLATE_DB)

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
            # No metrics servers: their fixed ports would clash between runs on one machine.
            worker_metrics_address="",
            api_metrics_address="",
            payload_keys=SecretStr(self.payload_keys),
        )

    def env_for(self, settings: Settings) -> dict[str, str]:
        env = self.base_env()
        for name, value in settings.model_dump(exclude_none=True).items():
            if hasattr(value, "get_secret_value"):
                value = value.get_secret_value()
            env[f"JOURNEYS_{name.upper()}"] = str(value)
        return env

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
            await wait_until(lambda: log_says(child, "READY"), f"the {kind} worker", child)
            yield child
        finally:
            child.stop()
