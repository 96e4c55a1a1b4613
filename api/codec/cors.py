"""CORS for the codec server, granted to the Temporal Web UI's origin and no other.

The UI calls the codec server from the browser, from its own origin, with a JSON body and the
`X-Namespace` (and, passing its token, `Authorization`) header, so every call is preceded by
a preflight. Only the UI's origin gets a grant; a request that names another origin is
refused outright rather than answered without a grant, since the browser would still have
sent it (and the server done its work) before hiding the answer.
"""

import json

from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

ALLOWED_HEADERS = ("authorization", "content-type", "x-namespace")
# Headers of the answer the UI's script may read.
EXPOSED_HEADERS = ("Journeys-Payloads-Left-Encoded",)
PREFLIGHT_MAX_AGE = 600


class CodecCors:
    """Answers preflights and adds the CORS grant on the routes under `prefix`."""

    def __init__(self, app: ASGIApp, *, origin: str, prefix: str) -> None:
        self.app = app
        self.origin = origin.rstrip("/")
        self.prefix = prefix

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(self.prefix):
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        origin = headers.get("origin")
        if (
            scope["method"] == "OPTIONS"
            and origin is not None
            and "access-control-request-method" in headers
        ):
            await self._preflight(send, origin, headers)
            return
        if origin is not None and origin != self.origin:
            await _answer(send, 403, _problem(f"the codec server serves {self.origin} only"))
            return

        async def granting_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                answer = MutableHeaders(scope=message)
                answer.append("Vary", "Origin")
                if origin is not None:
                    answer.update(self._grant())
                    answer["Access-Control-Expose-Headers"] = ", ".join(EXPOSED_HEADERS)
            await send(message)

        await self.app(scope, receive, granting_send)

    def _grant(self) -> dict[str, str]:
        # Credentials: the UI's `includeCredentials` sends cookies, which the browser hands
        # over only to an answer that allows them for this exact origin.
        return {
            "Access-Control-Allow-Origin": self.origin,
            "Access-Control-Allow-Credentials": "true",
        }

    async def _preflight(self, send: Send, origin: str, headers: Headers) -> None:
        asked = headers.get("access-control-request-headers", "")
        unknown = {h.strip().lower() for h in asked.split(",") if h.strip()} - set(ALLOWED_HEADERS)
        if origin != self.origin or headers["access-control-request-method"] != "POST" or unknown:
            await _answer(send, 403, _problem("this origin, method or header is not allowed"))
            return
        await _answer(
            send,
            204,
            b"",
            {
                **self._grant(),
                "Access-Control-Allow-Methods": "POST",
                "Access-Control-Allow-Headers": ", ".join(ALLOWED_HEADERS),
                "Access-Control-Max-Age": str(PREFLIGHT_MAX_AGE),
            },
        )


def _problem(detail: str) -> bytes:
    return json.dumps(
        {"type": "about:blank", "title": "Forbidden", "status": 403, "detail": detail}
    ).encode()


async def _answer(
    send: Send, status: int, body: bytes, headers: dict[str, str] | None = None
) -> None:
    raw = [(b"vary", b"Origin")]
    if body:
        raw += [
            (b"content-type", b"application/problem+json"),
            (b"content-length", str(len(body)).encode()),
        ]
    raw += [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})
