"""The client's address as `journeys api` takes it: from X-Forwarded-For only when one of
JOURNEYS_TRUSTED_PROXIES sends it, so a client calling the API directly cannot choose the
address its submissions are counted and audited under."""

import os
import shutil
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import httpx
import pytest
from pydantic import ValidationError

from audit.log import address_key, address_tag
from devstack.ports import answers, free_port
from settings import Settings
from tests.dev_process import journeys_api

# Loopback is 127.0.0.0/8 on Linux: three addresses on this host stand for the client, the
# proxy and a client of the proxy.
PROXY = "127.0.0.2"
PROXIED_CLIENT = "127.0.0.3"
NGINX = "/usr/sbin/nginx"

NGINX_CONF = """
worker_processes 1;
daemon off;
pid {dir}/nginx.pid;
error_log {dir}/error.log warn;
events {{ worker_connections 64; }}
http {{
    access_log off;
    client_body_temp_path {dir}/body;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;
    server {{
        listen 127.0.0.1:{port};
        location / {{
            proxy_pass http://127.0.0.1:{api_port};
            proxy_bind {proxy};
            proxy_set_header Host $host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto $scheme;
        }}
    }}
}}
"""


def _tag(address: str) -> str:
    return address_tag(address_key(Settings().audit_key.get_secret_value().encode()), address)


@pytest.fixture
async def api_port(database_url: str, tmp_path: Path) -> AsyncIterator[int]:
    """`journeys api` in its own process, trusting the proxy's address alone."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("JOURNEYS_", "OTEL_"))}
    env |= {
        "JOURNEYS_ENVIRONMENT": "development",
        "JOURNEYS_DATABASE_URL": database_url,
        # Never reached: the submissions below are refused before a journey would start.
        "JOURNEYS_TEMPORAL_ADDRESS": f"127.0.0.1:{free_port()}",
        "JOURNEYS_API_PORT": str(port),
        "JOURNEYS_API_METRICS_ADDRESS": "",
        "JOURNEYS_INTAKE_SWEEP_SECONDS": "0",
        "JOURNEYS_TRUSTED_PROXIES": PROXY,
        # uvicorn's own variable, which `journeys api` must not read.
        "FORWARDED_ALLOW_IPS": "*",
    }
    async with journeys_api(env, tmp_path / "api.log"):
        yield port


@pytest.fixture
def nginx_port(api_port: int, tmp_path: Path) -> Iterator[int]:
    """Debian's nginx in front of the API, as production puts a proxy there: it connects
    from the trusted address and appends the address it was called from."""
    assert shutil.which(NGINX), "Debian's nginx is missing: apt-get install nginx-light"
    port = free_port()
    directory = tmp_path / "nginx"
    directory.mkdir()
    conf = directory / "nginx.conf"
    conf.write_text(
        NGINX_CONF.format(dir=directory, port=port, api_port=api_port, proxy=PROXY),
        encoding="utf-8",
    )
    process = subprocess.Popen(
        [NGINX, "-p", str(directory), "-c", str(conf), "-e", str(directory / "error.log")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 10
        while not answers(port):
            assert process.poll() is None and time.monotonic() < deadline, (
                directory / "error.log"
            ).read_text()
            time.sleep(0.05)
        yield port
    finally:
        process.terminate()
        process.wait(10)


def _from(address: str, port: int) -> httpx.AsyncClient:
    transport = httpx.AsyncHTTPTransport(local_address=address)
    return httpx.AsyncClient(transport=transport, base_url=f"http://127.0.0.1:{port}")


async def test_only_a_trusted_proxy_names_the_client(
    api_port: int, nginx_port: int, pool: asyncpg.Pool
) -> None:
    async with _from("127.0.0.1", api_port) as direct:
        forged = await direct.post(
            "/api/v1/inquiries", json={}, headers={"X-Forwarded-For": "203.0.113.7"}
        )
    async with _from(PROXY, api_port) as proxy:
        named = await proxy.post(
            "/api/v1/inquiries", json={}, headers={"X-Forwarded-For": "203.0.113.8"}
        )
    async with _from(PROXIED_CLIENT, nginx_port) as through_nginx:
        # nginx appends the address it was called from; the forged one before it is ignored.
        proxied = await through_nginx.post(
            "/api/v1/inquiries", json={}, headers={"X-Forwarded-For": "203.0.113.9"}
        )
    assert [a.status_code for a in (forged, named, proxied)] == [422, 422, 422]

    seen = {_tag("127.0.0.1"), _tag("203.0.113.8"), _tag(PROXIED_CLIENT)}
    counted = await pool.fetch("SELECT client_key FROM form_rate_limits")
    assert {r["client_key"] for r in counted} == seen
    audited = await pool.fetch(
        "SELECT source FROM audit_log WHERE action = 'POST /api/v1/inquiries'"
    )
    assert sorted(r["source"] for r in audited) == sorted(seen), "audited as counted"


def test_trusted_proxies_are_loopback_unless_set() -> None:
    assert Settings().trusted_proxy_list == ["127.0.0.1", "::1"]
    assert Settings(trusted_proxies="").trusted_proxy_list == []
    assert Settings(
        trusted_proxies=" 10.0.0.0/24, 192.0.2.7/32 ,2001:db8::/48"
    ).trusted_proxy_list == ["10.0.0.0/24", "192.0.2.7", "2001:db8::/48"]


@pytest.mark.parametrize("value", ["nginx", "*", "10.0.0.1/24", "10.0.0.0/33"])
def test_a_trusted_proxy_must_be_an_address_or_a_network(value: str) -> None:
    with pytest.raises(ValidationError) as refused:
        Settings(trusted_proxies=value)
    message = str(refused.value)
    assert "JOURNEYS_TRUSTED_PROXIES" in message and repr(value) in message
