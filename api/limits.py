"""A cap on request bodies, enforced while reading so a large body is never held in memory."""

import json
from collections.abc import Awaitable, Callable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

# An HTML page saying a body was too large, for a path and its cap; None: answer problem+json.
PageRefusal = Callable[[Scope, int], bytes | None]
# Whether a request may send a body up to the upload cap (api/upload_access.py).
UploadCheck = Callable[[Scope], Awaitable[bool]]


class BodyTooLarge(Exception):
    pass


def _problem_413(limit: int) -> bytes:
    return json.dumps(
        {
            "type": "about:blank",
            "title": "Request body too large",
            "status": 413,
            "detail": f"the body may hold at most {limit} bytes",
        }
    ).encode()


class BodyLimitMiddleware:
    """Answers 413 when a body exceeds its cap, by Content-Length or while streaming."""

    def __init__(
        self,
        app: ASGIApp,
        max_bytes: int,
        upload_bytes: int | None = None,
        page_refusal: PageRefusal | None = None,
        may_upload: UploadCheck | None = None,
    ) -> None:
        """`page_refusal` words the refusal as a page where a person posts a plain form;
        `may_upload` says which requests get `upload_bytes` instead of `max_bytes`."""
        self.app = app
        self.max_bytes = max_bytes
        self.upload_bytes = upload_bytes or max_bytes
        self.page_refusal = page_refusal
        self.may_upload = may_upload

    async def limit_for(self, scope: Scope) -> int:
        """The upload cap for a document upload its caller may make, asked before the body is
        read; every other body gets the small one."""
        if self.may_upload is not None and await self.may_upload(scope):
            return self.upload_bytes
        return self.max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = await self.limit_for(scope)
        headers = dict(scope.get("headers") or [])
        declared = headers.get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await self._reject(scope, send, limit)
            return
        seen = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise BodyTooLarge
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except BodyTooLarge:
            if not started:
                await self._reject(scope, send, limit)

    async def _reject(self, scope: Scope, send: Send, limit: int) -> None:
        page = self.page_refusal(scope, limit) if self.page_refusal else None
        body = page if page is not None else _problem_413(limit)
        kind = b"text/html; charset=utf-8" if page is not None else b"application/problem+json"
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", kind),
                    (b"content-length", str(len(body)).encode()),
                    (b"cache-control", b"no-store"),
                    (b"referrer-policy", b"no-referrer"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})
