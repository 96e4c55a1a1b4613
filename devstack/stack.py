"""`journeys dev`: start every part of the local stack, print the addresses, stop it all on Ctrl-C.

Order: PostgreSQL (and migrations), Temporal dev server with its UI, the SMTP mailbox, the
worker, the API. Any service whose address is configured (`JOURNEYS_DATABASE_URL`,
`JOURNEYS_TEMPORAL_ADDRESS`, `JOURNEYS_SMTP_HOST`) is used instead of the embedded one.
"""

import asyncio
import contextlib
import os
import signal
import sys
import time
from collections.abc import Callable
from typing import Any, TextIO

import httpx
from pydantic import SecretStr
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest
from temporalio.client import Client
from temporalio.service import RPCError

from db.migrate import migrate_url
from devstack.demo_staff import demo_specialists, seed_demo_staff
from devstack.mailbox import start_mailbox
from devstack.payload_key import dev_payload_keys
from devstack.ports import answers, ensure_free
from devstack.postgres import start_postgres
from devstack.processes import Child, spawn
from devstack.radicale import radicale_command
from devstack.temporal_server import dev_server_command
from integrations.calendar import specialist_calendar
from integrations.payload_keys import PayloadKeyError
from integrations.temporal_client import connect_temporal, ensure_search_attributes
from settings import Settings
from worker import calendar_client

START_TIMEOUT = 60.0


class StartupFailed(Exception):
    """A part of the stack did not come up; the message says which and why."""


class Progress:
    """One line per step, with how long it took."""

    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.started = time.monotonic()

    def step(self, text: str) -> float:
        self.out.write(f"  … {text}\n")
        self.out.flush()
        return time.monotonic()

    def done(self, text: str, since: float) -> None:
        self.out.write(f"  ✓ {text} ({time.monotonic() - since:.1f} s)\n")
        self.out.flush()

    def say(self, text: str) -> None:
        self.out.write(f"{text}\n")
        self.out.flush()


async def _wait_for(check: Callable[[], Any], what: str, child: Child | None = None) -> None:
    deadline = time.monotonic() + START_TIMEOUT
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
        await asyncio.sleep(0.2)
    raise StartupFailed(f"{what} did not answer within {START_TIMEOUT:.0f} s")


class DevStack:
    """Owns every process and server it started, and stops them in reverse order."""

    def __init__(self, settings: Settings, out: TextIO = sys.stdout) -> None:
        self.settings = settings
        self.progress = Progress(out)
        self.state = settings.state_dir.resolve()
        self.children: list[Child] = []
        self._stoppers: list[tuple[str, Callable[[], None]]] = []
        self.env = dict(os.environ)
        self.env["PYTHONUNBUFFERED"] = "1"
        # The local stack runs on the development secrets, which production refuses.
        self.env["JOURNEYS_ENVIRONMENT"] = "development"

    def check_ports(self) -> None:
        s = self.settings
        if not s.temporal_address:
            hint = "stop the process using it, or set JOURNEYS_TEMPORAL_ADDRESS to use that server"
            ensure_free(s.temporal_port, "Temporal gRPC", hint=hint)
            ensure_free(s.temporal_ui_port, "Temporal Web UI", hint=hint)
        if not s.smtp_host:
            ensure_free(
                s.smtp_port,
                "local SMTP",
                hint="stop it, or set JOURNEYS_SMTP_HOST to use that server",
            )
        if not s.caldav_url:
            ensure_free(
                s.caldav_port,
                "local CalDAV",
                hint="stop it, or set JOURNEYS_CALDAV_URL to use that server",
            )
        ensure_free(
            s.api_port, "the API", host=s.api_host, hint="set JOURNEYS_API_PORT to another port"
        )

    async def start(self) -> None:
        s = self.settings
        self.state.mkdir(parents=True, exist_ok=True)
        self.check_ports()
        p = self.progress
        p.say(f"Starting the local stack (state in {self.state})")

        if s.database_url:
            database_url = s.database_url
            t = p.step("using PostgreSQL from JOURNEYS_DATABASE_URL; migrating")
        else:
            t = p.step("starting embedded PostgreSQL")
            server = await asyncio.to_thread(start_postgres, self.state / "pgdata")
            self._stoppers.append(("PostgreSQL", server.cleanup))
            database_url = server.get_uri()
        applied = await migrate_url(database_url)
        if not s.database_url:
            await seed_demo_staff(database_url)
        p.done(f"PostgreSQL ready, {len(applied)} migration(s) applied", t)
        self.env["JOURNEYS_DATABASE_URL"] = database_url

        if not s.payload_keys:
            # Every process of the stack encrypts and decrypts payloads under this key.
            try:
                keys = dev_payload_keys(self.state)
            except PayloadKeyError as err:
                raise StartupFailed(
                    f"{err}. Restore the file: a new key cannot read the journeys kept under "
                    "the old one (delete the state folder to start afresh)"
                ) from None
            self.env["JOURNEYS_PAYLOAD_KEYS"] = keys
            self.settings = s = s.model_copy(update={"payload_keys": SecretStr(keys)})
        url = f"http://{s.api_host}:{s.api_port}"

        if s.temporal_address:
            t = p.step(f"using Temporal at {s.temporal_address}")
            target = s.temporal_address
        else:
            t = p.step("starting Temporal dev server and Web UI")
            temporal = self._spawn(
                "Temporal",
                dev_server_command(
                    db_file=self.state / "temporal.db",
                    port=s.temporal_port,
                    ui_port=s.temporal_ui_port,
                    codec_endpoint=f"{url}/codec",
                ),
            )
            target = f"127.0.0.1:{s.temporal_port}"
            await _wait_for(lambda: answers(s.temporal_port), "Temporal gRPC", temporal)
            await _wait_for(lambda: answers(s.temporal_ui_port), "Temporal Web UI", temporal)
        client = await self._connect(target)
        await ensure_search_attributes(client)
        p.done("Temporal ready, search attributes registered", t)
        self.env["JOURNEYS_TEMPORAL_ADDRESS"] = target

        if s.smtp_host:
            t = p.step(f"using SMTP at {s.smtp_host}:{s.smtp_port}")
            p.done("SMTP configured", t)
        else:
            t = p.step("starting local SMTP mailbox")
            mailbox = start_mailbox(self.state / "mail", port=s.smtp_port)
            self._stoppers.append(("SMTP mailbox", mailbox.stop))
            self.env["JOURNEYS_SMTP_HOST"] = "127.0.0.1"
            self.env["JOURNEYS_SMTP_PORT"] = str(s.smtp_port)
            p.done(f"SMTP mailbox ready, messages kept in {self.state / 'mail'}", t)

        if s.caldav_url:
            t = p.step(f"using CalDAV at {s.caldav_url}")
            caldav_url = s.caldav_url
        else:
            t = p.step("starting local CalDAV server (Radicale)")
            radicale = self._spawn(
                "CalDAV",
                radicale_command(storage=self.state / "calendars", port=s.caldav_port),
            )
            await _wait_for(lambda: answers(s.caldav_port), "the CalDAV server", radicale)
            caldav_url = f"http://127.0.0.1:{s.caldav_port}/"
            self.env["JOURNEYS_CALDAV_URL"] = caldav_url
        if not s.database_url:
            calendar = calendar_client(s.model_copy(update={"caldav_url": caldav_url}))
            assert calendar is not None
            for staff_id in demo_specialists():
                await calendar.ensure_calendar(
                    specialist_calendar(staff_id), f"Consults {staff_id}"
                )
        p.done(f"CalDAV ready at {caldav_url}", t)

        t = p.step("starting the worker")
        worker = self._spawn("worker", [sys.executable, "-m", "cli", "worker"])
        await _wait_for(lambda: self._has_poller(client), "the worker", worker)
        p.done(f"worker polling task queue {s.task_queue}", t)

        t = p.step("starting the API")
        api = self._spawn("API", [sys.executable, "-m", "cli", "api"])
        await _wait_for(lambda: self._ready(f"{url}/readyz"), "the API", api)
        p.done("API ready", t)

        ui = (
            "(external server: its own UI)"
            if s.temporal_address
            else f"http://127.0.0.1:{s.temporal_ui_port}"
        )
        mail = f"(external) {s.smtp_host}" if s.smtp_host else self.state / "mail"
        p.say(
            "\nEverything answers "
            f"({time.monotonic() - p.started:.1f} s):\n"
            f"  Form and API      {url}/  (docs {url}/docs)\n"
            f"  Temporal Web UI   {ui}\n"
            f"  Codec server      {url}/codec  (for {s.ui_origin})\n"
            f"  Temporal gRPC     {target}\n"
            f"  PostgreSQL        {database_url}\n"
            f"  Mail              {mail}\n"
            f"  CalDAV            {caldav_url}\n"
            f"  Logs              {self.state / 'logs'}\n"
            "Press Ctrl-C to stop."
        )

    async def _connect(self, target: str) -> Client:
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            try:
                client = await connect_temporal(self.settings, address=target)
                await client.service_client.check_health()
                return client
            except RuntimeError as err:
                if time.monotonic() > deadline:
                    raise StartupFailed(f"Temporal at {target} does not answer: {err}") from err
                await asyncio.sleep(0.3)

    async def _has_poller(self, client: Client) -> bool:
        answer = await client.workflow_service.describe_task_queue(
            DescribeTaskQueueRequest(
                namespace=client.namespace, task_queue=TaskQueue(name=self.settings.task_queue)
            )
        )
        return len(answer.pollers) > 0

    @staticmethod
    async def _ready(url: str) -> bool:
        try:
            async with httpx.AsyncClient(timeout=2) as http:
                return (await http.get(url)).status_code == 200
        except httpx.HTTPError:
            return False

    def _spawn(self, name: str, argv: list[str]) -> Child:
        slug = name.lower().replace(" ", "-")
        child = spawn(name, argv, log_path=self.state / "logs" / f"{slug}.log", env=self.env)
        self.children.append(child)
        self._stoppers.append((name, child.stop))
        return child

    def failed_child(self) -> Child | None:
        return next((c for c in self.children if not c.running), None)

    def stop(self) -> None:
        """Stop everything started, newest first; safe to call twice."""
        while self._stoppers:
            name, stop = self._stoppers.pop()
            with contextlib.suppress(Exception):
                stop()
            self.progress.say(f"  stopped {name}")


async def run_dev(settings: Settings) -> int:
    """Run the stack until Ctrl-C, SIGTERM, or a child dying; returns the exit status."""
    stack = DevStack(settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    status = 0
    try:
        starting = asyncio.create_task(stack.start())
        stopping = asyncio.create_task(stop.wait())
        done, _ = await asyncio.wait({starting, stopping}, return_when=asyncio.FIRST_COMPLETED)
        if starting in done:
            starting.result()
            while not stop.is_set():
                crashed = stack.failed_child()
                if crashed is not None:
                    stack.progress.say(
                        f"\n{crashed.name} stopped unexpectedly "
                        f"(code {crashed.process.returncode}); "
                        f"last lines of {crashed.log_path}:\n{crashed.log_tail()}"
                    )
                    status = 1
                    break
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=1.0)
        else:
            starting.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await starting
        stopping.cancel()
    except (StartupFailed, OSError, RPCError) as err:
        stack.progress.say(f"\nCould not start: {err}")
        status = 1
    finally:
        stack.progress.say("\nStopping…")
        await asyncio.to_thread(stack.stop)
        stack.progress.say("Stopped.")
    return status
