"""`journeys dev` as a subprocess on free ports with a state folder of its own, for the tests
that run it as a person does (tests/test_devstack.py, tests/test_ui_codec.py); `journeys api`
on its own, for the tests that need the API's own process."""

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from pathlib import Path

import psutil

from devstack.ports import answers, free_port
from tests.helpers import eventually

READY_LINE = "Press Ctrl-C to stop."
PORT_NAMES = ("temporal", "ui", "api", "smtp", "caldav", "worker_metrics", "api_metrics")


def dev_ports() -> dict[str, int]:
    """A free port for each address `journeys dev` serves, by `PORT_NAMES`."""
    return {name: free_port() for name in PORT_NAMES}


def dev_env(state: Path, ports: dict[str, int]) -> dict[str, str]:
    """The environment of `journeys dev` on `ports`, keeping its state in `state`, and none of
    the caller's `JOURNEYS_*` settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("JOURNEYS_")}
    env.update(
        JOURNEYS_STATE_DIR=str(state),
        JOURNEYS_TEMPORAL_PORT=str(ports["temporal"]),
        JOURNEYS_TEMPORAL_UI_PORT=str(ports["ui"]),
        JOURNEYS_API_PORT=str(ports["api"]),
        JOURNEYS_SMTP_PORT=str(ports["smtp"]),
        JOURNEYS_CALDAV_PORT=str(ports["caldav"]),
        JOURNEYS_WORKER_METRICS_ADDRESS=f"127.0.0.1:{ports['worker_metrics']}",
        JOURNEYS_API_METRICS_ADDRESS=f"127.0.0.1:{ports['api_metrics']}",
    )
    return env


class Dev:
    """A running `journeys dev` and what it started."""

    def __init__(self, state: Path, ports: dict[str, int], *, cwd: Path | None = None) -> None:
        self.state, self.ports = state, ports
        self.process = subprocess.Popen(
            [sys.executable, "-m", "cli", "dev"],
            cwd=cwd,
            env=dev_env(state, ports),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.output: list[str] = []

    def wait_ready(self, within: float = 120) -> None:
        deadline = time.monotonic() + within
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.output.append(line)
            if READY_LINE in line:
                return
            if time.monotonic() > deadline:
                break
        raise AssertionError("journeys dev did not get ready:\n" + "".join(self.output))

    def started(self) -> list[psutil.Process]:
        """Every process it started: its children, and the PostgreSQL server it daemonized."""
        found = psutil.Process(self.process.pid).children(recursive=True)
        for proc in psutil.process_iter(["cmdline"]):
            if any(str(self.state) in part for part in proc.info["cmdline"] or []):
                found.append(proc)
        return found

    def interrupt(self, within: float = 60) -> int:
        self.process.send_signal(signal.SIGINT)
        out, _ = self.process.communicate(timeout=within)
        self.output.append(out)
        return self.process.returncode


@asynccontextmanager
async def journeys_api(env: Mapping[str, str], log_path: Path) -> AsyncIterator[None]:
    """`journeys api` in a process of its own with the environment `env` (its
    JOURNEYS_API_PORT set), its log written to `log_path`: open once it listens, stopped as
    Ctrl-C stops it."""
    port = int(env["JOURNEYS_API_PORT"])
    with log_path.open("w") as log_file:
        process = await asyncio.to_thread(
            subprocess.Popen,
            [sys.executable, "-m", "cli", "api"],
            env=env,
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
    try:
        await eventually(
            lambda: asyncio.to_thread(answers, port), what="the API listening", within=30
        )
        yield
    finally:
        process.send_signal(signal.SIGINT)
        await asyncio.to_thread(process.wait, 20)
