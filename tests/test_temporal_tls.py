"""Temporal over TLS: Temporal's dev server behind Debian's nginx, which terminates TLS and
verifies client certificates (ops/nginx/templates/temporal-grpc.conf.template), reached by
the worker, the API and the `journeys` command with this project's settings.
"""

import asyncio
import io
import os
import re
import secrets
import subprocess
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from pydantic import SecretStr
from temporalio.client import Client, ScheduleActionStartWorkflow
from temporalio.testing import WorkflowEnvironment

from api.app import create_app
from devstack.ports import free_port
from devstack.services import StartupFailed
from devstack.stack import DevStack
from domain.actors import Role
from integrations.payload_codec import is_encrypted
from integrations.temporal_client import connect_temporal
from integrations.temporal_tls import TemporalTlsError, temporal_tls
from privacy.retention import RETENTION_SCHEDULE_ID
from settings import PRODUCTION_SECRETS, InsecureSettings, Settings
from tests.conftest import start_dev_server
from tests.helpers import PRODUCTION_READY, eventually, journeys_command, valid_form
from tests.journeys import seed_staff
from tests.nginx import PLACEHOLDER, Nginx, render_template, start_nginx
from tests.oidc_issuer import KeyServer
from tests.test_secure_defaults import Listener
from tests.tls_certs import CertificateAuthority, TlsFiles, make_tls_files
from worker import run_worker, running_worker

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "ops" / "nginx" / "templates" / "temporal-grpc.conf.template"
# A name on the proxy's certificate that is not the address clients dial (127.0.0.1).
PROXY_NAME = "temporal-proxy.journeys.test"
STRONG = {name: SecretStr(secrets.token_urlsafe(48)) for name in PRODUCTION_SECRETS}


@dataclass(frozen=True)
class ProxiedTemporal:
    """Temporal's dev server, reached only through nginx's mutual TLS at `address`."""

    env: WorkflowEnvironment
    nginx: Nginx
    address: str
    tls: TlsFiles

    def settings(self, base: Settings, **changes: Any) -> Settings:
        """`base` pointed at the proxy with the client certificate, then `changes`."""
        return base.model_copy(
            update={
                "temporal_address": self.address,
                "temporal_tls_ca_file": self.tls.ca_cert,
                "temporal_tls_cert_file": self.tls.client_cert,
                "temporal_tls_key_file": self.tls.client_key,
            }
            | changes
        )


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    return make_tls_files(tmp_path_factory.mktemp("tls"), server_names=[PROXY_NAME])


@pytest.fixture(scope="module")
async def proxied(
    tls: TlsFiles, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[ProxiedTemporal]:
    env = await start_dev_server()
    port = free_port()
    server = render_template(
        TEMPLATE,
        {
            "TEMPORAL_PROXY_LISTEN": f"127.0.0.1:{port}",
            "TEMPORAL_PROXY_CERT": tls.server_cert,
            "TEMPORAL_PROXY_KEY": tls.server_key,
            "TEMPORAL_PROXY_CLIENT_CA": tls.ca_cert,
            "TEMPORAL_FRONTEND": env.client.service_client.config.target_host,
        },
    )
    try:
        with start_nginx(server, directory=tmp_path_factory.mktemp("nginx"), ports=[port]) as nginx:
            yield ProxiedTemporal(env=env, nginx=nginx, address=f"127.0.0.1:{port}", tls=tls)
    finally:
        await env.shutdown()


@pytest.fixture
def production(settings: Settings, proxied: ProxiedTemporal, key_server: KeyServer) -> Settings:
    """Production settings with strong secrets, reaching Temporal through the proxy, and
    taking the staff tokens of the issuer on loopback."""
    return proxied.settings(
        settings, environment="production", **(PRODUCTION_READY | key_server.settings | STRONG)
    )


async def _stage(http: httpx.AsyncClient, issuer: KeyServer, journey_id: str) -> tuple[str, str]:
    answer = await http.get(
        f"/api/v1/journeys/{journey_id}", headers=issuer.staff(Role.COORDINATOR)
    )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    return body["stage"], body["waiting_on"]


async def test_a_journey_runs_in_production_over_mutual_tls(
    production: Settings, pool: asyncpg.Pool, proxied: ProxiedTemporal, key_server: KeyServer
) -> None:
    """The API and the worker, each on its own client from production settings: the form
    starts a journey, the worker runs it, a reviewer's step goes in and the journey goes on.
    Production also decodes strictly: everything the journey stores is encrypted."""
    await seed_staff(pool)
    production.check_secrets()
    app = create_app(production)
    worker_client = await connect_temporal(production)
    async with (
        running_worker(worker_client, settings=production, pool=pool),
        app.router.lifespan_context(app),
    ):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            assert (await http.get("/readyz")).status_code == 200
            answer = await http.post(
                "/api/v1/inquiries", json=valid_form(), headers={"Idempotency-Key": "tls"}
            )
            assert answer.status_code == 202, answer.text
            journey_id = answer.json()["journey_id"]
            await eventually(
                lambda: _stage(http, key_server, journey_id),
                until=lambda s: s == ("VALIDATION", "reviewer"),
                what="the journey waiting on its reviewer",
            )
            reviewed = await http.post(
                f"/api/v1/journeys/{journey_id}/review",
                json={"outcome": "approve"},
                headers=key_server.staff(Role.REVIEWER),
            )
            assert reviewed.status_code == 200, reviewed.text
            await eventually(
                lambda: _stage(http, key_server, journey_id),
                until=lambda s: s == ("TELECONSULT", "patient"),
                what="the journey past its review",
            )
    requests = proxied.nginx.access_log_path.read_text()
    assert "PollWorkflowTaskQueue" in requests and "UpdateWorkflowExecution" in requests, (
        "both went through the proxy"
    )


async def test_a_client_without_a_certificate_of_the_ca_is_refused(
    proxied: ProxiedTemporal, tmp_path: Path
) -> None:
    without = proxied.settings(Settings(), temporal_tls_cert_file=None, temporal_tls_key_file=None)
    with pytest.raises(RuntimeError):
        await connect_temporal(without)
    assert "client sent no required SSL certificate" in proxied.nginx.error_log()

    stranger = CertificateAuthority(tmp_path, "stranger").issue_client("stranger")
    foreign = proxied.settings(
        Settings(), temporal_tls_cert_file=stranger.cert, temporal_tls_key_file=stranger.key
    )
    with pytest.raises(RuntimeError):
        await connect_temporal(foreign)
    assert "client SSL certificate verify error" in proxied.nginx.error_log()

    # Plain gRPC to the TLS port does not get through either.
    with pytest.raises(RuntimeError):
        await Client.connect(proxied.address)


async def test_the_server_certificate_must_carry_the_name_verified(
    proxied: ProxiedTemporal,
) -> None:
    # Dialled by IP address, the certificate is checked against the override instead.
    named = await connect_temporal(
        proxied.settings(Settings(), temporal_tls_server_name=PROXY_NAME)
    )
    await named.service_client.check_health()

    with pytest.raises(RuntimeError, match="NotValidForName"):
        await connect_temporal(
            proxied.settings(Settings(), temporal_tls_server_name="elsewhere.journeys.test")
        )
    # Without the CA file the system's CAs verify the server, and none of them issued it.
    with pytest.raises(RuntimeError, match="UnknownIssuer"):
        await connect_temporal(proxied.settings(Settings(), temporal_tls_ca_file=None))


async def test_production_refuses_to_reach_temporal_in_the_clear(settings: Settings) -> None:
    temporal, postgres = Listener(), Listener()
    try:
        plain = settings.model_copy(
            update=PRODUCTION_READY
            | STRONG
            | {
                "environment": "production",
                "temporal_address": f"127.0.0.1:{temporal.port}",
                "database_url": f"postgresql://j:j@127.0.0.1:{postgres.port}/j",
            }
        )
        (problem,) = plain.production_problems()
        for name in ("TLS", "TLS_CA_FILE", "TLS_CERT_FILE", "TLS_KEY_FILE", "API_KEY"):
            assert f"JOURNEYS_TEMPORAL_{name}" in problem
        with pytest.raises(InsecureSettings, match="JOURNEYS_TEMPORAL_TLS is off"):
            await run_worker(plain)
        app = create_app(plain)
        with pytest.raises(InsecureSettings, match="JOURNEYS_TEMPORAL_TLS is off"):
            async with app.router.lifespan_context(app):
                pass
        assert not temporal.was_connected and not postgres.was_connected
    finally:
        temporal.sock.close()
        postgres.sock.close()
    # Any one of them is enough; development goes on in the clear.
    for enough in (
        {"temporal_tls": True},
        {"temporal_tls_ca_file": Path("ca.pem")},
        {"temporal_api_key": SecretStr("key")},
    ):
        assert plain.model_copy(update=enough).production_problems() == []
    assert Settings(environment="development").production_problems() == []


@pytest.fixture
def pem_files(tls: TlsFiles, tmp_path: Path) -> Iterator[dict[str, Path]]:
    not_pem = tmp_path / "notes.txt"
    not_pem.write_text("not a certificate")
    yield {"ca": tls.ca_cert, "cert": tls.client_cert, "key": tls.client_key, "text": not_pem}


@pytest.mark.parametrize(
    ("settings_given", "message"),
    [
        (
            {"temporal_tls_ca_file": "missing.pem"},
            "JOURNEYS_TEMPORAL_TLS_CA_FILE: cannot read missing.pem (No such file or directory)",
        ),
        (
            {"temporal_tls_cert_file": "cert"},
            "JOURNEYS_TEMPORAL_TLS_CERT_FILE is set but JOURNEYS_TEMPORAL_TLS_KEY_FILE is not",
        ),
        (
            {"temporal_tls_key_file": "key"},
            "JOURNEYS_TEMPORAL_TLS_KEY_FILE is set but JOURNEYS_TEMPORAL_TLS_CERT_FILE is not",
        ),
        (
            {"temporal_tls_cert_file": "key", "temporal_tls_key_file": "key"},
            "JOURNEYS_TEMPORAL_TLS_CERT_FILE: ",
        ),
        ({"temporal_tls_ca_file": "text"}, "JOURNEYS_TEMPORAL_TLS_CA_FILE: "),
        ({"temporal_tls_ca_file": "directory"}, "JOURNEYS_TEMPORAL_TLS_CA_FILE: cannot read"),
        ({"temporal_api_key": " "}, "JOURNEYS_TEMPORAL_API_KEY is empty"),
    ],
)
def test_unusable_tls_settings_are_one_line_naming_the_setting(
    settings_given: dict[str, str], message: str, pem_files: dict[str, Path], tmp_path: Path
) -> None:
    files = pem_files | {"directory": tmp_path}
    values: dict[str, Any] = {
        name: files.get(value, Path(value)) if name.endswith("_file") else value
        for name, value in settings_given.items()
    }
    with pytest.raises(TemporalTlsError) as refused:
        temporal_tls(Settings(**values))
    assert message in str(refused.value)
    assert "\n" not in str(refused.value)


async def test_a_command_refuses_unusable_tls_settings_before_connecting(tmp_path: Path) -> None:
    temporal, postgres = Listener(), Listener()
    env = {k: v for k, v in os.environ.items() if not k.startswith("JOURNEYS_TEMPORAL")}
    env |= {
        "JOURNEYS_TEMPORAL_ADDRESS": f"127.0.0.1:{temporal.port}",
        "JOURNEYS_DATABASE_URL": f"postgresql://j:j@127.0.0.1:{postgres.port}/j",
        "JOURNEYS_TEMPORAL_TLS_CA_FILE": str(tmp_path / "ca.pem"),
    }
    try:
        for command in (["worker", "--check"], ["setup"], ["timeline", str(uuid.uuid4())]):
            done = await asyncio.to_thread(journeys_command, *command, env=env)
            assert done.returncode == 2, (command, done.stdout, done.stderr)
            assert done.stderr == (
                f"JOURNEYS_TEMPORAL_TLS_CA_FILE: cannot read {tmp_path / 'ca.pem'} "
                "(No such file or directory)\n"
            ), command
        assert not temporal.was_connected and not postgres.was_connected
    finally:
        temporal.sock.close()
        postgres.sock.close()


async def test_the_worker_check_reaches_temporal_over_mutual_tls(
    proxied: ProxiedTemporal,
    settings: Settings,
    pool: asyncpg.Pool,
    database_url: str,
    mailbox_server: tuple[int, Path],
) -> None:
    """`journeys worker --check`, as the worker container runs it, in production with the
    client certificate: healthy while this host's worker polls through the proxy."""
    production = proxied.settings(settings, environment="production", **STRONG)
    env = {k: v for k, v in os.environ.items() if not k.startswith("JOURNEYS_")} | {
        "JOURNEYS_ENVIRONMENT": "production",
        "JOURNEYS_TEMPORAL_ADDRESS": proxied.address,
        "JOURNEYS_TEMPORAL_TLS_CA_FILE": str(proxied.tls.ca_cert),
        "JOURNEYS_TEMPORAL_TLS_CERT_FILE": str(proxied.tls.client_cert),
        "JOURNEYS_TEMPORAL_TLS_KEY_FILE": str(proxied.tls.client_key),
        "JOURNEYS_TASK_QUEUE": production.task_queue,
        "JOURNEYS_DATABASE_URL": database_url,
        "JOURNEYS_SMTP_HOST": "127.0.0.1",
        "JOURNEYS_SMTP_PORT": str(mailbox_server[0]),
    }

    def check(**changes: str) -> subprocess.CompletedProcess[str]:
        return journeys_command("worker", "--check", env=env | changes)

    async with running_worker(await connect_temporal(production), settings=production, pool=pool):
        healthy = await eventually(
            lambda: asyncio.to_thread(check),
            until=lambda done: done.returncode == 0,
            what="a healthy check over mutual TLS",
        )
        assert f"Temporal at {proxied.address}: " in healthy.stdout
        refused = await asyncio.to_thread(
            check, JOURNEYS_TEMPORAL_TLS_SERVER_NAME="elsewhere.journeys.test"
        )
    assert refused.returncode == 1
    (line,) = [line for line in refused.stderr.splitlines() if line.startswith("Temporal at")]
    assert line.startswith(f"Temporal at {proxied.address}: unavailable: RuntimeError: ")
    assert "elsewhere.journeys.test" in line, "the reason, for the operator"


def test_the_proxy_template_documents_its_variables_and_outlasts_long_polls() -> None:
    text = TEMPLATE.read_text()
    header = text.split("\nserver {")[0]
    documented = set(re.findall(r"^#   ([A-Z][A-Z0-9_]+) ", header, re.MULTILINE))
    assert documented == set(PLACEHOLDER.findall(text)), "each variable documented, and used"
    # The SDK gives a poll 70 s; nginx's 60 s default would end every idle one in an error.
    for directive in ("grpc_read_timeout", "grpc_send_timeout"):
        (seconds,) = re.findall(rf"^\s*{directive} (\d+)s;", text, re.MULTILINE)
        assert int(seconds) > 70, directive
    assert re.search(r"^\s*ssl_verify_client on;", text, re.MULTILINE)


async def test_setup_prepares_temporal_over_mutual_tls_in_production(
    proxied: ProxiedTemporal, database_url: str
) -> None:
    """`journeys setup`, as the one-shot container runs it: through the proxy, with the
    client certificate, and the production codec for the retention schedule's input."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("JOURNEYS_TEMPORAL")} | {
        "JOURNEYS_ENVIRONMENT": "production",
        "JOURNEYS_TEMPORAL_ADDRESS": proxied.address,
        "JOURNEYS_TEMPORAL_TLS_CA_FILE": str(proxied.tls.ca_cert),
        "JOURNEYS_TEMPORAL_TLS_CERT_FILE": str(proxied.tls.client_cert),
        "JOURNEYS_TEMPORAL_TLS_KEY_FILE": str(proxied.tls.client_key),
        "JOURNEYS_DATABASE_URL": database_url,
    }
    done = await asyncio.to_thread(journeys_command, "setup", env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "search attributes registered" in done.stdout
    described = await proxied.env.client.get_schedule_handle(RETENTION_SCHEDULE_ID).describe()
    action = described.schedule.action
    assert isinstance(action, ScheduleActionStartWorkflow)
    assert all(is_encrypted(payload) for payload in action.args)


async def test_journeys_dev_refuses_tls_settings_for_its_embedded_server(tmp_path: Path) -> None:
    state = tmp_path / "state"
    stack = DevStack(
        Settings(environment="development", temporal_tls=True, state_dir=state),
        out=io.StringIO(),
    )
    with pytest.raises(StartupFailed, match="set JOURNEYS_TEMPORAL_ADDRESS"):
        await stack.start()
    assert not state.exists(), "refused before anything started"
