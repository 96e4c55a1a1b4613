"""Debian's nginx (/usr/sbin/nginx) for tests: a configuration the test supplies, run in the
foreground with every path of its own (prefix, pid, temporary files, logs) in a directory.

    with start_nginx(server_blocks, directory=tmp_path / "nginx", ports=[port]) as nginx:
        ...  # nginx listens on 127.0.0.1:port

`http` is what goes inside the `http {}` block (server and upstream blocks: a template of
ops/nginx/templates rendered by `render_template`, as the official nginx image renders it).
Run as root, the workers run as root too, so that they read the test's files in its private
temporary directory; run as any other user, nginx keeps that user. A start that fails, or that
does not listen in time, raises `NginxFailed` with nginx's error log.
"""

import os
import re
import signal
import socket
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Self

NGINX = "/usr/sbin/nginx"
START_SECONDS = 20.0
STOP_SECONDS = 10.0
# `${NAME}`: what the official image's envsubst replaces (it leaves nginx's own `$name`).
PLACEHOLDER = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
TEMP_PATHS = ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")


class NginxFailed(RuntimeError):
    """nginx refused its configuration, exited or did not listen; the message holds its
    error log."""


def render_template(template: Path, values: Mapping[str, object]) -> str:
    """`template` with each `${NAME}` replaced by `values[NAME]`; a placeholder without a
    value is an error here, where the image's envsubst would leave it for nginx to fail on."""
    text = template.read_text()
    missing = sorted({name for name in PLACEHOLDER.findall(text) if name not in values})
    if missing:
        raise KeyError(f"{template.name} needs a value for {', '.join(missing)}")
    return PLACEHOLDER.sub(lambda found: str(values[found.group(1)]), text)


@dataclass
class Nginx:
    """A running nginx and its directory; as a context manager, stopped when the block ends."""

    directory: Path
    process: subprocess.Popen[bytes]
    host: str
    ports: tuple[int, ...]

    @property
    def config_path(self) -> Path:
        return self.directory / "nginx.conf"

    @property
    def error_log_path(self) -> Path:
        return self.directory / "error.log"

    @property
    def access_log_path(self) -> Path:
        return self.directory / "access.log"

    def error_log(self) -> str:
        """nginx's error log, and what it wrote to stderr before the log was open."""
        parts = []
        for path in (self.directory / "stderr.log", self.error_log_path):
            try:
                parts.append(path.read_text(errors="replace"))
            except FileNotFoundError:
                continue
        return "".join(parts)

    @property
    def running(self) -> bool:
        return self.process.poll() is None

    def stop(self) -> None:
        """Fast shutdown (SIGTERM), then SIGKILL if nginx is still there; safe to repeat."""
        if not self.running:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(STOP_SECONDS)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(STOP_SECONDS)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()


def nginx_config(http: str, *, directory: Path, main: str = "") -> str:
    """The whole configuration: `main` and `http` wrapped with paths under `directory`."""
    temp = directory / "temp"
    user = "user root root;\n" if os.geteuid() == 0 else ""
    temp_paths = "".join(f"    {name}_temp_path {temp / name};\n" for name in TEMP_PATHS)
    return (
        "daemon off;\n"
        "master_process on;\n"
        "worker_processes 1;\n"
        f"{user}"
        f"pid {directory / 'nginx.pid'};\n"
        f"error_log {directory / 'error.log'} info;\n"
        f"{main}\n"
        "events {\n    worker_connections 1024;\n}\n"
        "http {\n"
        f"    access_log {directory / 'access.log'};\n"
        f"{temp_paths}"
        f"{http}\n"
        "}\n"
    )


def start_nginx(
    http: str,
    *,
    directory: Path,
    ports: Sequence[int],
    host: str = "127.0.0.1",
    main: str = "",
    within: float = START_SECONDS,
) -> Nginx:
    """Start nginx with `http` (and `main`) and wait until it accepts connections on every
    one of `ports` at `host`."""
    directory.mkdir(parents=True, exist_ok=True)
    for name in TEMP_PATHS:
        (directory / "temp" / name).mkdir(parents=True, exist_ok=True)
    config = directory / "nginx.conf"
    config.write_text(nginx_config(http, directory=directory, main=main))
    with (directory / "stderr.log").open("wb") as stderr:
        process = subprocess.Popen(
            [NGINX, "-p", f"{directory}/", "-c", str(config), "-e", str(directory / "error.log")],
            stdin=subprocess.DEVNULL,
            stdout=stderr,
            stderr=stderr,
        )
    nginx = Nginx(directory=directory, process=process, host=host, ports=tuple(ports))
    deadline = time.monotonic() + within
    waiting = list(ports)
    while waiting:
        if not nginx.running:
            raise NginxFailed(
                f"nginx exited with status {process.returncode}; {config}, error log:\n"
                f"{nginx.error_log()}"
            )
        if time.monotonic() > deadline:
            nginx.stop()
            raise NginxFailed(
                f"nginx did not listen on {host}:{waiting[0]} within {within:.0f} s; error "
                f"log:\n{nginx.error_log()}"
            )
        if _listens(host, waiting[0]):
            waiting.pop(0)
        else:
            time.sleep(0.05)
    return nginx


def _listens(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False
