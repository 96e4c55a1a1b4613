"""The proxy that puts the codec server on the Temporal UI's origin under `journeys dev`.

Served by uvicorn as `python -m devstack.ui_proxy` serves it, in front of small upstreams that
say what reached them, and in front of the real app, whose codec server decodes for a console
session that came through it and audits the browser's address, not one the browser claimed.
"""

import gzip
import json
import threading
from collections.abc import Callable
from typing import Any

import asyncpg
import httpx
import pytest
import uvicorn
from starlette.types import Receive, Scope, Send

from api.codec.wire import WirePayloads, payloads_json
from api.console.session import COOKIE_NAME
from api.tokens import mint_staff_token
from db.staff import StaffRepository
from devstack.ports import free_port
from devstack.ui_proxy import SameOriginProxy, server_config
from domain.actors import Actor, Role
from domain.steps import ReviewDecision, ReviewOutcome
from integrations.data_converter import build_data_converter
from settings import Settings
from tests.browser import ServedApp, console_cookie
from tests.helpers import eventually

Serve = Callable[[uvicorn.Config], str]
SPOOFED = "203.0.113.9"


class Upstream:
    """An upstream server that answers what reached it; `/stream` sends one event and holds
    the answer open until the client leaves, which it notes in `gone`."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.gone = threading.Event()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        assert scope["type"] == "http"
        body, more = b"", True
        while more:
            message = await receive()
            body += message.get("body", b"")
            more = message.get("more_body", False)
        if scope["path"] == "/stream":
            await send(_start(200, b"text/event-stream"))
            await send({"type": "http.response.body", "body": b"data: one\n\n", "more_body": True})
            while (await receive())["type"] != "http.disconnect":
                pass
            self.gone.set()
            return
        if scope["path"] == "/compressed":
            packed = gzip.compress(b"the UI's script")
            await send(
                _start(
                    200,
                    b"text/javascript",
                    (b"content-encoding", b"gzip"),
                    (b"content-length", str(len(packed)).encode()),
                    (b"set-cookie", b"_csrf=a; Path=/"),
                    (b"set-cookie", b"other=b; Path=/"),
                )
            )
            await send({"type": "http.response.body", "body": packed})
            return
        seen = {
            "upstream": self.name,
            "method": scope["method"],
            "raw_path": scope["raw_path"].decode(),
            "query": scope["query_string"].decode(),
            "headers": [[k.decode(), v.decode()] for k, v in scope["headers"]],
            "body": body.decode(),
        }
        await send(_start(201, b"application/json"))
        await send({"type": "http.response.body", "body": json.dumps(seen).encode()})


def _start(status: int, content_type: bytes, *headers: tuple[bytes, bytes]) -> dict[str, Any]:
    return {
        "type": "http.response.start",
        "status": status,
        "headers": [(b"content-type", content_type), *headers],
    }


def _header(seen: dict[str, Any], name: str) -> list[str]:
    return [value for key, value in seen["headers"] if key == name]


@pytest.fixture
def serve(serve_uvicorn: Callable[[uvicorn.Config], None]) -> Serve:
    """Serves an app as `serve_uvicorn` does (tests/browser.py); answers its URL."""

    def start(config: uvicorn.Config) -> str:
        serve_uvicorn(config)
        return f"http://{config.host}:{config.port}"

    return start


def _upstream(serve: Serve, name: str) -> tuple[Upstream, str]:
    app = Upstream(name)
    config = uvicorn.Config(app, host="127.0.0.1", port=free_port(), lifespan="off")
    return app, serve(config)


@pytest.fixture
def proxied(serve: Serve) -> tuple[str, Upstream, Upstream]:
    """The proxy's URL, in front of a stand-in UI and a stand-in API with its `/codec`."""
    ui, ui_url = _upstream(serve, "ui")
    api, api_url = _upstream(serve, "api")
    proxy = SameOriginProxy(upstream=ui_url, routes={"/codec": f"{api_url}/codec"})
    return serve(server_config(proxy, free_port())), ui, api


async def test_codec_calls_reach_the_api_and_all_else_the_ui(
    proxied: tuple[str, Upstream, Upstream],
) -> None:
    url, _, _ = proxied
    async with httpx.AsyncClient(base_url=url) as http:
        codec = await http.post(
            "/codec/decode?preserveStorageRefs=true",
            json={"payloads": []},
            headers={"X-Namespace": "default"},
        )
        page = await http.get("/namespaces/default/workflows/journey-a%2Fb?query=x%20y")
        near = await http.get("/codecs/x")

    assert codec.status_code == 201
    seen = codec.json()
    assert (seen["upstream"], seen["method"]) == ("api", "POST")
    assert (seen["raw_path"], seen["query"]) == ("/codec/decode", "preserveStorageRefs=true")
    assert json.loads(seen["body"]) == {"payloads": []}
    assert _header(seen, "x-namespace") == ["default"]
    # The path as the browser wrote it: a workflow id's escaped slash stays escaped.
    seen = page.json()
    assert seen["upstream"] == "ui"
    assert (seen["raw_path"], seen["query"]) == (
        "/namespaces/default/workflows/journey-a%2Fb",
        "query=x%20y",
    )
    assert near.json()["upstream"] == "ui", "only the /codec prefix itself goes to the API"


async def test_the_browser_address_is_forwarded_and_a_claimed_one_dropped(
    proxied: tuple[str, Upstream, Upstream],
) -> None:
    url, _, _ = proxied
    async with httpx.AsyncClient(base_url=url) as http:
        seen = (
            await http.post(
                "/codec/decode",
                content=b"{}",
                headers={
                    "X-Forwarded-For": SPOOFED,
                    "Forwarded": f"for={SPOOFED}",
                    "X-Real-IP": SPOOFED,
                    "X-Forwarded-Host": "elsewhere.example",
                },
            )
        ).json()

    host = url.removeprefix("http://")
    assert _header(seen, "x-forwarded-for") == ["127.0.0.1"]
    assert _header(seen, "x-forwarded-proto") == ["http"]
    assert _header(seen, "x-forwarded-host") == [host]
    assert _header(seen, "host") == [host], "the upstream sees the address the browser used"
    assert _header(seen, "forwarded") == _header(seen, "x-real-ip") == []


async def test_answers_pass_as_sent_and_stream_until_the_browser_leaves(
    proxied: tuple[str, Upstream, Upstream],
) -> None:
    url, ui, _ = proxied
    async with httpx.AsyncClient(base_url=url) as http:
        packed = await http.get("/compressed", headers={"Accept-Encoding": "gzip"})
        assert packed.headers["content-encoding"] == "gzip"
        assert packed.text == "the UI's script"
        assert packed.headers.get_list("set-cookie") == ["_csrf=a; Path=/", "other=b; Path=/"]

        # The first event arrives while the upstream still holds its answer open.
        async with http.stream("GET", "/stream") as events:
            first = await anext(events.aiter_raw())
        assert first == b"data: one\n\n"

    async def gone() -> bool:
        return ui.gone.is_set()

    await eventually(gone, within=10, what="the upstream told that the browser left")


async def test_a_silent_upstream_is_a_bad_gateway(serve: Serve) -> None:
    nobody = f"http://127.0.0.1:{free_port()}"
    proxy = SameOriginProxy(upstream=nobody, routes={"/codec": f"{nobody}/codec"})
    url = serve(server_config(proxy, free_port()))
    async with httpx.AsyncClient(base_url=url) as http:
        answer = await http.post("/codec/decode", json={"payloads": []})
    assert answer.status_code == 502
    assert answer.text.startswith("Bad gateway: 127.0.0.1:")
    assert answer.text.count("\n") == 1


async def test_the_codec_decodes_for_a_console_session_through_the_proxy_and_audits_the_browser(
    settings: Settings,
    serve: Serve,
    serve_app: Callable[[Settings], ServedApp],
    pool: asyncpg.Pool,
) -> None:
    """The browser's call as `journeys dev` makes it: to the UI's own origin, with the console's
    cookie and the `Origin` every POST carries; the codec server's checks stay as they are."""
    port = free_port()
    origin = f"http://127.0.0.1:{port}"
    app = serve_app(settings.model_copy(update={"temporal_ui_url": origin}))
    proxy = SameOriginProxy(upstream=app.url, routes={"/codec": f"{app.url}/codec"})
    assert serve(server_config(proxy, port)) == origin

    decision = ReviewDecision(
        actor=Actor(id="rev-1", role=Role.REVIEWER), outcome=ReviewOutcome.APPROVE
    )
    body = payloads_json(await build_data_converter(settings).encode([decision]))
    async with pool.acquire() as conn:
        await StaffRepository(conn).add(
            staff_id="coord-9", full_name="x", email="x@clinic.test", role=Role.COORDINATOR.value
        )
    signed = await console_cookie(app.settings, "coord-9")
    browser = {"Origin": origin, "X-Namespace": "default", "X-Forwarded-For": SPOOFED}
    token = mint_staff_token(settings, subject="coord-9", name="x", role=Role.COORDINATOR)
    direct = {"X-Namespace": "default", "Authorization": f"Bearer {token}"}

    async with httpx.AsyncClient() as http:
        cookie = {"Cookie": f"{COOKIE_NAME}={signed}"}
        through = await http.post(f"{origin}/codec/decode", json=body, headers=browser | cookie)
        elsewhere = await http.post(
            f"{origin}/codec/decode",
            json=body,
            headers=browser | cookie | {"Origin": "https://elsewhere.example"},
        )
        unsigned = await http.post(f"{origin}/codec/decode", json=body, headers=browser)
        # Straight to the API, which trusts forwarding headers from loopback (the proxy's).
        plain = await http.post(f"{app.url}/codec/decode", json=body, headers=direct)
        claimed = await http.post(
            f"{app.url}/codec/decode", json=body, headers={**direct, "X-Forwarded-For": SPOOFED}
        )

    assert through.status_code == 200, through.text
    [decoded] = WirePayloads.model_validate(through.json()).to_protos()
    assert decoded.metadata["encoding"] == b"json/plain"
    assert elsewhere.status_code == 403, "another origin is refused through the proxy too"
    assert unsigned.status_code == 401, "no console session, nothing decoded"
    assert plain.status_code == claimed.status_code == 200
    rows = await pool.fetch(
        "SELECT actor_id, source FROM audit_log WHERE action = 'codec.decode' ORDER BY seq"
    )
    assert [r["actor_id"] for r in rows] == ["coord-9"] * 3
    via_proxy, loopback, spoofed = (r["source"] for r in rows)
    assert via_proxy == loopback, "audited as the browser's own address"
    assert spoofed != loopback
