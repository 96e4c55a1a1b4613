"""Where the `journeys` command finds its settings, and what a command checks before it acts.

Settings come from the environment first. What it lacks comes from the dotenv file named by
`journeys --env-file PATH` or, without one, from the file that a `journeys dev` running in this
folder keeps (`.journeys/dev.env`, under JOURNEYS_STATE_DIR when that is set;
devstack/dev_env.py): beside `make dev` a second terminal needs nothing exported.

The running stack's file is never read
- by `journeys dev`, which writes it: a file left by a killed stack would hand it a PostgreSQL
  and a Temporal that no longer run, as external services;
- by `journeys worker` and `journeys api`: services run on their deployment's settings (the
  environment, or a file named with --env-file), never on whatever stack runs in the folder they
  start in; the stack hands its own worker and API their settings in their environment;
- when the environment sets JOURNEYS_ENVIRONMENT to anything but development: a production
  shell never fills its gaps with a development stack's addresses and keys.

A command checks what it needs (settings present, servers answering, keys that open the
histories it touches, the audit key that seals the log) before it changes anything. A problem
is a `SettingProblem`: one line on stderr, starting with the setting (or option) at fault, and
exit status 2.
"""

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from settings import Settings, get_settings, read_env_file

if TYPE_CHECKING:
    import asyncpg
    from temporalio.client import Client

    from integrations.payload_codec import PayloadDecodeError

# Where `journeys dev` keeps its settings under its state folder (devstack/dev_env.py writes
# it; this module ships without the development stack, and names it for both).
DEV_ENV_FILE = "dev.env"
SERVICE_COMMANDS = frozenset({"dev", "worker", "api"})
CONNECT_SECONDS = 10.0
DATABASE_URL = "JOURNEYS_DATABASE_URL"
DATABASE_OWNER_URL = "JOURNEYS_DATABASE_OWNER_URL"
TEMPORAL_ADDRESS = "JOURNEYS_TEMPORAL_ADDRESS"
TEMPORAL_NAMESPACE = "JOURNEYS_TEMPORAL_NAMESPACE"
TASK_QUEUE = "JOURNEYS_TASK_QUEUE"
PAYLOAD_KEYS = "JOURNEYS_PAYLOAD_KEYS"
AUDIT_KEY = "JOURNEYS_AUDIT_KEY"


class SettingProblem(Exception):
    """A setting or option a command needs is missing, malformed, or names a server that does
    not answer. The message is one line that starts with its name."""


def _environ(environ: Mapping[str, str], name: str) -> str | None:
    # pydantic-settings matches variable names without regard to case.
    return next((v for k, v in environ.items() if k.upper() == name), None)


@dataclass(frozen=True)
class SettingsSource:
    """What a command reads after the environment: `file`, or nothing.

    `dev_file` is where a running `journeys dev` keeps its settings; `not_read` says why that
    file, present, is not read.
    """

    file: Path | None = None
    dev_file: Path | None = None
    not_read: str = ""
    environ: Mapping[str, str] = field(
        default_factory=lambda: os.environ, repr=False, compare=False
    )

    @property
    def dev_stack(self) -> bool:
        return self.file is not None and self.file == self.dev_file

    @cached_property
    def _from_file(self) -> frozenset[str]:
        """The settings this command takes from the file: those it sets and the environment
        does not."""
        if self.file is None:
            return frozenset()
        from dotenv import dotenv_values

        names = {name.upper() for name in dotenv_values(self.file)}
        return frozenset(n for n in names if _environ(self.environ, n) is None)

    def name(self, setting: str) -> str:
        """`setting`, with the file it came from when the environment does not set it."""
        return f"{setting} (from {self.file})" if setting in self._from_file else setting

    def unset(self) -> str:
        """Where a setting nothing sets can be given."""
        if self.dev_stack:
            return f"neither the environment nor {self.file} (the running `journeys dev`'s) sets it"
        if self.file is not None:
            return f"neither the environment nor {self.file} sets it"
        if self.not_read:
            return f"set it, or give --env-file ({self.dev_file} is not read: {self.not_read})"
        return (
            "set it, give --env-file, or run this beside `journeys dev` "
            f"(no {self.dev_file} here: none runs in this folder)"
        )

    def still_running(self, setting: str) -> str:
        """A hint for an address that does not answer, when the stack's file gave it."""
        if self.dev_stack and setting in self._from_file:
            return f"; is the `journeys dev` that wrote {self.file} still running?"
        return ""


def choose_source(
    env_file: Path | None, command: str | None, environ: Mapping[str, str] = os.environ
) -> SettingsSource:
    """The file `journeys COMMAND` reads after the environment (module docstring)."""
    if env_file is not None:
        if not env_file.is_file():
            raise SettingProblem(f"--env-file {env_file}: no such file")
        if not os.access(env_file, os.R_OK):
            raise SettingProblem(f"--env-file {env_file}: not readable")
        return SettingsSource(file=env_file, environ=environ)
    dev_file = Path(_environ(environ, "JOURNEYS_STATE_DIR") or ".journeys") / DEV_ENV_FILE
    if not dev_file.is_file():
        return SettingsSource(dev_file=dev_file, environ=environ)
    environment = _environ(environ, "JOURNEYS_ENVIRONMENT")
    if command in SERVICE_COMMANDS:
        why = f"`journeys {command}` reads only the environment and --env-file"
    elif environment is not None and environment.strip().lower() != "development":
        why = f"the environment sets JOURNEYS_ENVIRONMENT={environment}"
    elif not os.access(dev_file, os.R_OK):
        raise SettingProblem(f"{dev_file}: not readable (the running `journeys dev`'s settings)")
    else:
        return SettingsSource(file=dev_file, dev_file=dev_file, environ=environ)
    return SettingsSource(dev_file=dev_file, not_read=why, environ=environ)


_source = SettingsSource()
_debug = False


def configure(env_file: Path | None, command: str | None, *, debug: bool = False) -> None:
    """Choose the file this run of `journeys COMMAND` reads after the environment, for every
    `Settings` it builds."""
    global _source, _debug
    _debug = debug
    _source = choose_source(env_file, command)
    read_env_file(_source.file)


def source() -> SettingsSource:
    return _source


def debug_requested() -> bool:
    """`--debug`, or JOURNEYS_LOG_LEVEL=DEBUG: show an unexpected error's traceback."""
    if _debug:
        return True
    try:
        return get_settings().log_level == "DEBUG"
    except Exception:
        return (_environ(os.environ, "JOURNEYS_LOG_LEVEL") or "").upper() == "DEBUG"


def one_line(err: BaseException) -> str:
    """An error's message on one line; the Temporal client's connection errors cut to their
    cause ("Connection refused")."""
    text = " ".join(str(err).split())
    cause = re.search(r'message: "([^"]+)"', text)
    return (cause.group(1) if cause else text)[:300] or type(err).__name__


def require_database_url(settings: Settings) -> str:
    if not settings.database_url:
        raise SettingProblem(f"{DATABASE_URL} is not set: {_source.unset()}")
    return settings.database_url


async def connect_database(settings: Settings, *, owner: bool = False) -> "asyncpg.Connection":
    """A connection to the settings' PostgreSQL (as the schema's owner, when `owner` and
    JOURNEYS_DATABASE_OWNER_URL is set), or the problem naming the setting."""
    import asyncpg

    url = require_database_url(settings)
    setting = DATABASE_URL
    if owner and settings.database_owner_url:
        url, setting = settings.database_owner_url, DATABASE_OWNER_URL
    try:
        return await asyncpg.connect(url, timeout=CONNECT_SECONDS)
    except (
        OSError,
        TimeoutError,
        ValueError,
        asyncpg.PostgresError,
        asyncpg.InterfaceError,
    ) as err:
        # The URL itself is not repeated: it may hold a password.
        if isinstance(err, ValueError):
            raise SettingProblem(
                f"{_source.name(setting)} is not a PostgreSQL URL ({one_line(err)})"
            ) from None
        raise SettingProblem(
            f"{_source.name(setting)}: PostgreSQL does not answer ({one_line(err)})"
            f"{_source.still_running(setting)}"
        ) from None


async def database_answers(settings: Settings, *, owner: bool = False) -> None:
    conn = await connect_database(settings, owner=owner)
    await conn.close()


def audit_key(settings: Settings) -> bytes:
    """The key that seals the audit log's rows: refused in production while it is the
    development one or weak, and when too short to be a key."""
    from audit.log import check_key

    for problem in settings.production_problems():
        if problem.startswith(f"{AUDIT_KEY} "):
            raise SettingProblem(f"{problem}: production seals the audit log with a key of its own")
    key = settings.audit_key.get_secret_value().encode()
    try:
        check_key(key)
    except ValueError as err:
        raise SettingProblem(f"{_source.name(AUDIT_KEY)}: {err}") from None
    return key


async def audit_key_seals_log(conn: "asyncpg.Connection", key: bytes) -> None:
    """Refuse a key other than the one the log was sealed with: a row appended under it would
    break the chain for good."""
    from audit.verify import sealed_under
    from db.audit_log import AuditLogRepository

    last = await AuditLogRepository(conn).last()
    if last is not None and not sealed_under(last, key):
        raise SettingProblem(
            f"{_source.name(AUDIT_KEY)} does not seal the audit log's last row (seq {last.seq}): "
            "it is not the key the API and the worker write with, and a row added under it would "
            "break the chain (with the API's key, `journeys audit verify` tells whether the log "
            "was altered instead)"
        )


def payload_keys(settings: Settings, *, stores: bool) -> None:
    """Refuse malformed payload keys, and none at all in production when the command stores
    payloads (starts a workflow, sends a step): production stores nothing unencrypted."""
    from integrations.payload_keys import PayloadKeyError, parse_payload_keys

    value = settings.payload_keys.get_secret_value() if settings.payload_keys else ""
    try:
        parse_payload_keys(value, source=_source.name(PAYLOAD_KEYS))
    except PayloadKeyError as err:
        raise SettingProblem(str(err)) from None
    if stores and not value.strip() and settings.environment == "production":
        raise SettingProblem(
            f"{PAYLOAD_KEYS} is unset: production stores no payload unencrypted; {_source.unset()}"
        )


async def temporal_client(
    settings: Settings,
    *,
    address: str = "",
    namespace: str = "",
    stores: bool = False,
    namespace_must_exist: bool = True,
) -> "Client":
    """A client of the settings' Temporal (or `--address` and `--namespace`) that answers and
    knows the namespace (unless the command registers it), with payload keys the command can
    use (`payload_keys`)."""
    from temporalio.api.workflowservice.v1 import DescribeNamespaceRequest
    from temporalio.service import RPCError, RPCStatusCode

    from integrations.temporal_client import connect_temporal

    payload_keys(settings, stores=stores)
    target = address or settings.temporal_target
    try:
        client = await connect_temporal(settings, address=target, namespace=namespace or None)
    except RuntimeError as err:
        cause = one_line(err)
        if address:
            problem = f"--address {address}: no Temporal answers there ({cause})"
        elif settings.temporal_address:
            problem = (
                f"{_source.name(TEMPORAL_ADDRESS)}: no Temporal answers at {target} ({cause})"
                f"{_source.still_running(TEMPORAL_ADDRESS)}"
            )
        else:
            problem = (
                f"{TEMPORAL_ADDRESS} is not set, and no Temporal answers at the local default "
                f"{target} ({cause}): {_source.unset()}"
            )
        raise SettingProblem(problem) from None
    if not namespace_must_exist:
        return client
    try:
        await client.workflow_service.describe_namespace(
            DescribeNamespaceRequest(namespace=client.namespace)
        )
    except RPCError as err:
        # Only a namespace that is not there is refused: an API key may be denied the
        # description of a namespace it works in.
        if err.status == RPCStatusCode.NOT_FOUND:
            which = "--namespace" if namespace else _source.name(TEMPORAL_NAMESPACE)
            raise SettingProblem(
                f"{which}: Temporal at {target} has no namespace {client.namespace!r}"
            ) from None
    return client


async def worker_polls(client: "Client", settings: Settings) -> None:
    """Refuse to start work that only a worker carries out when none polls the task queue."""
    from temporalio.service import RPCError, RPCStatusCode

    from integrations.temporal_client import task_queue_pollers

    try:
        pollers = await task_queue_pollers(client, settings.task_queue)
    except RPCError as err:
        # Temporal's time-skipping test server does not describe task queues, and an API key
        # may not be allowed to: the command then goes on as it did before this check.
        if err.status in (RPCStatusCode.UNIMPLEMENTED, RPCStatusCode.PERMISSION_DENIED):
            return
        raise
    if not pollers:
        raise SettingProblem(
            f"{_source.name(TASK_QUEUE)}: no worker polls task queue {settings.task_queue!r} "
            f"on Temporal at {client.service_client.config.target_host}; start one "
            "(`journeys worker`, or `journeys dev`), or set the queue the workers poll"
            f"{_source.still_running(TASK_QUEUE)}"
        )


def undecodable(err: "PayloadDecodeError", settings: Settings, what: str) -> SettingProblem:
    """The problem of a payload in `what` the configured keys do not open."""
    from integrations.payload_codec import UnknownPayloadKey

    keys = _source.name(PAYLOAD_KEYS)
    if not isinstance(err, UnknownPayloadKey):
        return SettingProblem(
            f"{keys} holds another key under the id {err.key_id!r} than the one {what} is "
            "encrypted with (or the payload was altered)"
        )
    if settings.payload_keys is None or not settings.payload_keys.get_secret_value().strip():
        return SettingProblem(
            f"{PAYLOAD_KEYS} is unset: {what} is encrypted under the key id {err.key_id!r}; "
            f"{_source.unset()}"
        )
    return SettingProblem(
        f"{keys} lacks the key id {err.key_id!r} that {what} is encrypted under: give it the "
        "keys the worker runs with"
    )


async def history_readable(
    client: "Client", settings: Settings, workflow_id: str, what: str
) -> None:
    """Refuse keys that cannot open the workflow's history (when the server has it): the
    answers a command waits for are encrypted as it is."""
    from temporalio.service import RPCError, RPCStatusCode

    from integrations.data_converter import decode_history
    from integrations.payload_codec import PayloadDecodeError

    try:
        history = await client.get_workflow_handle(workflow_id).fetch_history()
    except RPCError as err:
        if err.status == RPCStatusCode.NOT_FOUND:
            return
        raise
    try:
        await decode_history(history, client.data_converter)
    except PayloadDecodeError as err:
        raise undecodable(err, settings, what) from None
