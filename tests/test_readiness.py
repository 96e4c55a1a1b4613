"""`/readyz` of the API: ready only while PostgreSQL and Temporal answer, and it answers in
time even when one of them hangs."""

import re
import socket
from collections.abc import Iterator
from contextlib import AbstractAsyncContextManager
from pathlib import Path

import httpx
import pytest

from devstack.postgres import EmbeddedPostgres, start_postgres
from settings import Settings
from tests.app_client import app_client


@pytest.fixture
def own_postgres(tmp_path: Path) -> Iterator[EmbeddedPostgres]:
    """A PostgreSQL server of this test's own, which it may stop."""
    server = start_postgres(tmp_path / "pgdata")
    yield server
    server.cleanup()


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A port that accepts connections (the kernel's backlog does) and never says a word."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(16)
        yield sock.getsockname()[1]


@pytest.fixture
def closed_port() -> Iterator[int]:
    """A port bound and not listening: connections are refused, and nothing else takes it."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]


def _app(settings: Settings) -> AbstractAsyncContextManager[httpx.AsyncClient]:
    quiet = settings.model_copy(update={"intake_sweep_seconds": 0})
    return app_client(quiet, base_url="http://app", timeout=15)


async def _ready(http: httpx.AsyncClient) -> tuple[int, dict[str, str]]:
    answer = await http.get("/readyz")
    checks: dict[str, str] = answer.json()["checks"]
    return answer.status_code, checks


async def test_ready_while_both_answer_and_not_once_postgresql_stops(
    settings: Settings, own_postgres: EmbeddedPostgres
) -> None:
    stopping = settings.model_copy(update={"database_url": own_postgres.get_uri()})
    async with _app(stopping) as http:
        assert await _ready(http) == (200, {"postgres": "ok", "temporal": "ok"})
        own_postgres.cleanup()
        status, checks = await _ready(http)
        assert status == 503
        assert checks["postgres"].startswith("unavailable: ")
        assert checks["temporal"] == "ok"
        assert (await http.get("/healthz")).status_code == 200, "alive, only not ready"


@pytest.mark.parametrize(
    ("port", "temporal"),
    [
        pytest.param("closed_port", r"unavailable: .*", id="refusing-connections"),
        # The client gives up after 15 s; the check's own deadline is shorter.
        pytest.param("silent_port", r"unavailable: TimeoutError", id="never-answering"),
    ],
)
async def test_not_ready_while_temporal_is_unreachable_and_the_check_keeps_its_deadline(
    settings: Settings, request: pytest.FixtureRequest, port: str, temporal: str
) -> None:
    address = f"127.0.0.1:{request.getfixturevalue(port)}"
    unreachable = settings.model_copy(update={"temporal_address": address})
    async with _app(unreachable) as http:
        status, checks = await _ready(http)
    assert status == 503
    assert checks == {"postgres": "ok", "temporal": checks["temporal"]}
    assert re.fullmatch(temporal, checks["temporal"], re.DOTALL), checks["temporal"]
