"""`journeys dev`: start every part of the local stack, print the addresses, stop it all on Ctrl-C.

Order: PostgreSQL (and migrations), Temporal dev server with its UI, the SMTP mailbox, the
worker, the API; the worker and the API serve their metrics on addresses of their own. Any
service whose address is configured (`JOURNEYS_DATABASE_URL`, `JOURNEYS_TEMPORAL_ADDRESS`,
`JOURNEYS_SMTP_HOST`) is used instead of the embedded one.
"""

import asyncio
import contextlib
import os
import signal
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

import httpx
from dotenv import dotenv_values
from pydantic import SecretStr
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest
from temporalio.client import Client
from temporalio.common import WorkerDeploymentVersion
from temporalio.service import RPCError

from db.migrate import migrate_url
from devstack.demo_staff import seed_demo_calendars, seed_demo_staff
from devstack.dev_env import dev_env_path, remove_dev_env, write_dev_env
from devstack.payload_key import dev_payload_keys
from devstack.ports import ensure_free, ensure_loopback, free_port
from devstack.processes import Child
from devstack.services import (
    Services,
    StartupFailed,
    connect_when_healthy,
    wait_until,
)
from integrations.payload_keys import PayloadKeyError
from integrations.temporal_client import ensure_search_attributes
from integrations.temporal_ui import coordinator_queries, workflow_list
from integrations.worker_deployment import is_current
from observability.addresses import metrics_url, split_address
from privacy.retention import ensure_retention_schedule, set_history_retention
from settings import Settings

# The build id of the stack's worker unless JOURNEYS_WORKER_BUILD_ID names another.
DEV_BUILD_ID = "dev"


def ensure_loopback_only(s: Settings) -> None:
    """Refuse settings that would have the local stack listen beyond this machine."""
    listens = [("JOURNEYS_API_HOST", s.api_host)]
    for setting, address in (
        ("JOURNEYS_WORKER_METRICS_ADDRESS", s.worker_metrics_address),
        ("JOURNEYS_API_METRICS_ADDRESS", s.api_metrics_address),
    ):
        if address:
            listens.append((setting, split_address(address)[0]))
    ensure_loopback(listens)


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


def _metrics(address: str) -> str:
    return metrics_url(address) if address else "(off)"


class DevStack:
    """Owns every process and server it started, and stops them in reverse order."""

    def __init__(
        self, settings: Settings, out: TextIO = sys.stdout, *, env_file: Path | None = None
    ) -> None:
        self.settings = settings
        self.progress = Progress(out)
        self.state = settings.state_dir.resolve()
        # The children read the `--env-file` the stack was given as the stack did: under the
        # environment.
        from_file = dotenv_values(env_file) if env_file is not None else {}
        self.env = {k: v for k, v in from_file.items() if v is not None} | dict(os.environ)
        self.env["PYTHONUNBUFFERED"] = "1"
        # The local stack runs on the development secrets, which production refuses.
        self.env["JOURNEYS_ENVIRONMENT"] = "development"
        # The children see the addresses set below as each part starts.
        self.services = Services(logs=self.state / "logs", env=self.env)
        self.dev_env: str | None = None

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
        for address, what, setting in (
            (s.worker_metrics_address, "the worker's metrics", "JOURNEYS_WORKER_METRICS_ADDRESS"),
            (s.api_metrics_address, "the API's metrics", "JOURNEYS_API_METRICS_ADDRESS"),
        ):
            if address:
                host, port = split_address(address)
                ensure_free(port, what, host=host, hint=f"set {setting} to another address")

    async def start(self) -> None:
        s = self.settings
        if s.temporal_tls_enabled and not s.temporal_address:
            raise StartupFailed(
                "the JOURNEYS_TEMPORAL_TLS* and JOURNEYS_TEMPORAL_API_KEY settings are for the "
                "server at JOURNEYS_TEMPORAL_ADDRESS; the embedded dev server speaks plain gRPC "
                "on loopback: unset them, or set JOURNEYS_TEMPORAL_ADDRESS"
            )
        self.state.mkdir(parents=True, exist_ok=True)
        self.check_ports()
        p = self.progress
        p.say(f"Starting the local stack (state in {self.state})")

        if s.database_url:
            database_url = s.database_url
            t = p.step("using PostgreSQL from JOURNEYS_DATABASE_URL; migrating")
        else:
            t = p.step("starting embedded PostgreSQL")
            server = await self.services.postgres(self.state / "pgdata")
            database_url = server.get_uri()
        applied = await migrate_url(database_url)
        if not s.database_url:
            await seed_demo_staff(database_url, audit_key=s.audit_key.get_secret_value().encode())
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
        ui_url = f"http://127.0.0.1:{s.temporal_ui_port}"

        if s.temporal_address:
            t = p.step(f"using Temporal at {s.temporal_address}")
            target = s.temporal_address
            client = await connect_when_healthy(s, target)
            await ensure_search_attributes(client)
        else:
            t = p.step("starting Temporal dev server and Web UI")
            inner_ui_port = free_port()
            # The UI's address serves the UI and passes its codec calls on to the API: made to
            # the UI's own origin, they carry the console's session cookie by default, which
            # the UI that the CLI starts cannot be told to send to another origin. The proxy
            # starts beside the server rather than after it.
            temporal, _ = await asyncio.gather(
                self.services.temporal(
                    db_file=self.state / "temporal.db",
                    port=s.temporal_port,
                    ui_port=inner_ui_port,
                    settings=s,
                    codec_endpoint=f"{ui_url}/codec",
                ),
                self.services.same_origin_proxy(
                    port=s.temporal_ui_port,
                    upstream=f"http://127.0.0.1:{inner_ui_port}",
                    routes={"/codec": f"{url}/codec"},
                ),
            )
            target, client = temporal.target, temporal.client
        await set_history_retention(client, days=s.temporal_retention_days)
        schedule = await ensure_retention_schedule(
            client, task_queue=s.task_queue, retention_days=s.retention_days
        )
        p.done(
            "Temporal ready, search attributes registered, closed histories kept "
            f"{s.temporal_retention_days} days, retention schedule {schedule}",
            t,
        )
        self.env["JOURNEYS_TEMPORAL_ADDRESS"] = target

        if s.smtp_host:
            t = p.step(f"using SMTP at {s.smtp_host}:{s.smtp_port}")
            p.done("SMTP configured", t)
        else:
            t = p.step("starting local SMTP mailbox")
            self.services.mailbox(self.state / "mail", port=s.smtp_port)
            self.env["JOURNEYS_SMTP_HOST"] = "127.0.0.1"
            self.env["JOURNEYS_SMTP_PORT"] = str(s.smtp_port)
            p.done(f"SMTP mailbox ready, messages kept in {self.state / 'mail'}", t)

        if s.caldav_url:
            t = p.step(f"using CalDAV at {s.caldav_url}")
            caldav_url = s.caldav_url
        else:
            t = p.step("starting local CalDAV server (Radicale)")
            caldav_url = await self.services.caldav(
                storage=self.state / "calendars", port=s.caldav_port
            )
            self.env["JOURNEYS_CALDAV_URL"] = caldav_url
        if not s.database_url:
            await seed_demo_calendars(
                caldav_url,
                username=s.caldav_username,
                password=s.caldav_password.get_secret_value(),
            )
        p.done(f"CalDAV ready at {caldav_url}", t)

        t = p.step("starting the worker")
        # The stack's one worker is the version that takes every task. Its build id stays the
        # same across code changes, so a restart resumes the follow-up years pinned to it: a
        # new build id would leave them waiting for a worker of the old one.
        build = s.worker_build_id or DEV_BUILD_ID
        self.env["JOURNEYS_WORKER_BUILD_ID"] = build
        self.env["JOURNEYS_WORKER_PROMOTE"] = "always"
        worker = self.services.spawn("worker", [sys.executable, "-m", "cli", "worker"])
        await wait_until(lambda: self._has_poller(client), "the worker", worker)
        routed = WorkerDeploymentVersion(s.worker_deployment_name, build)
        await wait_until(
            lambda: is_current(client, routed), "the worker's version", worker, every=1.0
        )
        await self._wait_for_metrics(s.worker_metrics_address, "the worker's metrics", worker)
        p.done(f"worker polling task queue {s.task_queue} as {routed.to_canonical_string()}", t)

        t = p.step("starting the API")
        api = self.services.spawn("API", [sys.executable, "-m", "cli", "api"])
        await wait_until(lambda: self._ready(f"{url}/readyz"), "the API", api)
        await self._wait_for_metrics(s.api_metrics_address, "the API's metrics", api)
        p.done("API ready", t)

        ui = "(external server: its own UI)" if s.temporal_address else ui_url
        codec = (
            f"{url}/codec  (for {s.ui_origin})"
            if s.temporal_address
            else f"{ui_url}/codec  (the UI's origin, passed to {url}/codec)"
        )
        mail = f"(external) {s.smtp_host}" if s.smtp_host else self.state / "mail"
        questions = (
            ""
            if s.temporal_address
            else "Temporal UI lists for coordinators (as of now):\n"
            + "".join(
                f"  {label:<40} {workflow_list(ui, s.temporal_namespace, query)}\n"
                for label, query in coordinator_queries(datetime.now(UTC)).items()
            )
        )
        self.dev_env = write_dev_env(
            self.state,
            self.command_settings(),
            header=(
                f"Settings of the `journeys dev` running in {Path.cwd()} (pid {os.getpid()}),\n"
                "read by `journeys` commands run beside it; removed when it stops."
            ),
        )
        p.say(
            "\nEverything answers "
            f"({time.monotonic() - p.started:.1f} s):\n"
            f"  Form and API      {url}/  (docs {url}/docs)\n"
            f"  Staff console     {url}/staff/\n"
            f"  Temporal Web UI   {ui}\n"
            f"  Codec server      {codec}\n"
            f"  Temporal gRPC     {target}\n"
            f"  PostgreSQL        {database_url}\n"
            f"  Mail              {mail}\n"
            f"  CalDAV            {caldav_url}\n"
            f"  Worker metrics    {_metrics(s.worker_metrics_address)}\n"
            f"  API metrics       {_metrics(s.api_metrics_address)}\n"
            f"  Logs              {self.state / 'logs'} (JSON lines)\n"
            f"  Command settings  {dev_env_path(self.state)} (`journeys` commands read it)\n"
            f"{questions}"
            "Press Ctrl-C to stop."
        )

    async def _has_poller(self, client: Client) -> bool:
        answer = await client.workflow_service.describe_task_queue(
            DescribeTaskQueueRequest(
                namespace=client.namespace, task_queue=TaskQueue(name=self.settings.task_queue)
            )
        )
        return len(answer.pollers) > 0

    @staticmethod
    async def _wait_for_metrics(address: str, what: str, child: Child) -> None:
        if address:
            await wait_until(lambda: DevStack._ready(metrics_url(address)), what, child)

    @staticmethod
    async def _ready(url: str) -> bool:
        try:
            async with httpx.AsyncClient(timeout=2) as http:
                return (await http.get(url)).status_code == 200
        except httpx.HTTPError:
            return False

    def command_settings(self) -> dict[str, str]:
        """What a `journeys` command run beside the stack needs to reach it: the settings its
        worker and API run with, and the addresses they use by default."""
        s = self.settings
        values = {k.upper(): v for k, v in self.env.items() if k.upper().startswith("JOURNEYS_")}
        return values | {
            "JOURNEYS_ENVIRONMENT": "development",
            "JOURNEYS_STATE_DIR": str(self.state),
            "JOURNEYS_TEMPORAL_NAMESPACE": s.temporal_namespace,
            "JOURNEYS_TASK_QUEUE": s.task_queue,
            "JOURNEYS_SMTP_PORT": str(s.smtp_port),
            "JOURNEYS_API_HOST": s.api_host,
            "JOURNEYS_API_PORT": str(s.api_port),
            "JOURNEYS_TEMPORAL_UI_URL": s.ui_url,
        }

    def failed_child(self) -> Child | None:
        return self.services.failed_child()

    def stop(self) -> None:
        """Stop everything started, newest first; safe to call twice."""
        # First: from now on commands say that no stack runs here.
        if self.dev_env is not None:
            remove_dev_env(self.state, self.dev_env)
            self.dev_env = None
        self.services.stop(lambda name: self.progress.say(f"  stopped {name}"))


async def run_dev(settings: Settings, *, env_file: Path | None = None) -> int:
    """Run the stack until Ctrl-C, SIGTERM, or a child dying; returns the exit status.
    `env_file`, the file `settings` read after the environment, reaches its children too."""
    stack = DevStack(settings, env_file=env_file)
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
