"""The Temporal Web UI and the codec server on one origin, for `journeys dev`.

The UI decodes payloads by calling its codec endpoint from the browser. The dev server's UI
cannot be told to send credentials with that call (`temporal server start-dev` sets the codec
endpoint and nothing else), so a codec server on another origin never sees who is signed in.
Served from the UI's own origin, the call is same-origin, and the browser's default fetch
sends the cookies of the host, the staff console's session among them (cookies are per host,
not per port). So this small reverse proxy answers on the UI's address, passes the codec's
path prefix to the API and everything else to the real UI on an internal port.

It is the edge for the browser: forwarding headers a client sent are dropped and its own put
in their place, so the API (which trusts them from loopback) audits the browser's real
address, not one the browser claims. Bodies stream both ways.

In a process of its own: `python -m devstack.ui_proxy --port PORT --upstream URL
--route /codec=URL`.
"""

import argparse
from collections.abc import AsyncIterator, Mapping, Sequence

import anyio
import httpx
import uvicorn
from starlette.types import Message, Receive, Scope, Send

# RFC 9110 7.6.1: headers about one connection, never passed on.
HOP_BY_HOP = frozenset(
    {
        b"connection",
        b"keep-alive",
        b"proxy-authenticate",
        b"proxy-authorization",
        b"proxy-connection",
        b"te",
        b"trailer",
        b"transfer-encoding",
        b"upgrade",
    }
)
# What a client may claim about the hops before it; this proxy is the first hop.
FORWARDING = frozenset(
    {b"forwarded", b"x-forwarded-for", b"x-forwarded-host", b"x-forwarded-proto", b"x-real-ip"}
)
CONNECT_TIMEOUT = 10.0


class SameOriginProxy:
    """ASGI app passing each request under a route's prefix to that route's base URL, and
    every other request to `upstream`.

    `routes` maps a path prefix (`/codec`) to the URL it stands for there
    (`http://127.0.0.1:8000/codec`); `/codec/decode?x=1` then goes to
    `http://127.0.0.1:8000/codec/decode?x=1`, its path as the browser wrote it.
    """

    def __init__(
        self,
        *,
        upstream: str,
        routes: Mapping[str, str],
    ) -> None:
        self.upstream = httpx.URL(upstream)
        self.routes = {prefix.rstrip("/"): httpx.URL(url) for prefix, url in routes.items()}
        self._client: httpx.AsyncClient | None = None

    def target(self, raw_path: bytes, query: bytes) -> httpx.URL:
        """The upstream URL of a request's path (still percent-encoded) and query."""
        base, rest = self.upstream, raw_path
        for prefix, url in self.routes.items():
            mark = prefix.encode()
            if raw_path == mark or raw_path.startswith(mark + b"/"):
                base, rest = url, raw_path[len(mark) :]
                break
        path = base.raw_path.partition(b"?")[0].rstrip(b"/") + rest or b"/"
        return base.copy_with(raw_path=path + (b"?" + query if query else b""))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
        elif scope["type"] == "http":
            await self._http(scope, receive, send)
        else:
            # Neither the UI nor the codec server speaks WebSocket.
            await send({"type": "websocket.close", "code": 1003})

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                self._client = httpx.AsyncClient(
                    # No read timeout: an answer may stream for as long as the browser listens.
                    timeout=httpx.Timeout(CONNECT_TIMEOUT, read=None),
                    # The machine's proxy settings are for the outside world, not loopback.
                    trust_env=False,
                )
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                if self._client is not None:
                    await self._client.aclose()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        assert self._client is not None, "served without its lifespan"
        headers = self._request_headers(scope)
        has_body = any(name in (b"content-length", b"transfer-encoding") for name, _ in headers)
        request = self._client.build_request(
            scope["method"],
            self.target(scope.get("raw_path") or scope["path"].encode(), scope["query_string"]),
            headers=[(name, value) for name, value in headers if name not in HOP_BY_HOP],
            content=_body(receive) if has_body else None,
        )
        try:
            response = await self._client.send(request, stream=True)
        except httpx.HTTPError as err:
            where = f"{request.url.host}:{request.url.port}"
            await _bad_gateway(send, f"{where} does not answer ({err})")
            return
        try:
            await send(
                {
                    "type": "http.response.start",
                    "status": response.status_code,
                    "headers": [
                        (name.lower(), value)
                        for name, value in response.headers.raw
                        if name.lower() not in HOP_BY_HOP
                    ],
                }
            )
            # The request body is read by now: what `receive` says next is the browser leaving,
            # which ends an answer that would otherwise stream on to nobody.
            async with anyio.create_task_group() as streaming:

                async def until_gone() -> None:
                    while (await receive())["type"] != "http.disconnect":
                        pass
                    streaming.cancel_scope.cancel()

                streaming.start_soon(until_gone)
                async for chunk in response.aiter_raw():
                    await send({"type": "http.response.body", "body": chunk, "more_body": True})
                await send({"type": "http.response.body", "body": b""})
                streaming.cancel_scope.cancel()
        finally:
            await response.aclose()

    @staticmethod
    def _request_headers(scope: Scope) -> list[tuple[bytes, bytes]]:
        headers: list[tuple[bytes, bytes]] = [
            (name, value) for name, value in scope["headers"] if name not in FORWARDING
        ]
        host = next((value for name, value in headers if name == b"host"), None)
        client = scope.get("client")
        if client:
            headers.append((b"x-forwarded-for", client[0].encode()))
        headers.append((b"x-forwarded-proto", scope["scheme"].encode()))
        if host is not None:
            headers.append((b"x-forwarded-host", host))
        if not any(name == b"accept-encoding" for name, _ in headers):
            # Bodies pass as the upstream encoded them; a client that asked for no encoding
            # must not get a compressed one.
            headers.append((b"accept-encoding", b"identity"))
        return headers


async def _body(receive: Receive) -> AsyncIterator[bytes]:
    more = True
    while more:
        message: Message = await receive()
        if message["type"] == "http.disconnect":
            # The upstream gets a body shorter than announced and fails the request.
            return
        more = message.get("more_body", False)
        yield message.get("body", b"")


async def _bad_gateway(send: Send, detail: str) -> None:
    body = f"Bad gateway: {detail}\n".encode()
    await send(
        {
            "type": "http.response.start",
            "status": 502,
            "headers": [
                (b"content-type", b"text/plain; charset=utf-8"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


def proxy_command(*, port: int, upstream: str, routes: Mapping[str, str], python: str) -> list[str]:
    """The command line serving `SameOriginProxy` on 127.0.0.1:`port` in a process of its own."""
    argv = [python, "-m", "devstack.ui_proxy", "--port", str(port), "--upstream", upstream]
    for prefix, url in routes.items():
        argv += ["--route", f"{prefix}={url}"]
    return argv


def _route(text: str) -> tuple[str, str]:
    prefix, sep, url = text.partition("=")
    if not sep or not prefix.startswith("/") or not url:
        raise argparse.ArgumentTypeError(f"expected /prefix=URL, got {text!r}")
    return prefix, url


def server_config(proxy: SameOriginProxy, port: int) -> uvicorn.Config:
    """How uvicorn serves the proxy on 127.0.0.1:`port`."""
    return uvicorn.Config(
        proxy,
        host="127.0.0.1",
        port=port,
        # The first hop: the client's address is the peer's, whatever headers it sends.
        proxy_headers=False,
        # The upstream's own Server and Date headers pass through.
        server_header=False,
        date_header=False,
        # No request lines: the UI renders decoded summaries through URLs of its own (`/render?
        # content=…`), which would land in the log.
        access_log=False,
        log_level="warning",
        lifespan="on",
    )


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m devstack.ui_proxy", description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--upstream", required=True, help="where every other request goes")
    parser.add_argument("--route", type=_route, action="append", default=[])
    args = parser.parse_args(argv)
    proxy = SameOriginProxy(upstream=args.upstream, routes=dict(args.route))
    uvicorn.Server(server_config(proxy, args.port)).run()


if __name__ == "__main__":
    main()
