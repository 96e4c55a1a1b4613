"""A minimal HTTP/1.1 keep-alive client for the intake's load.

httpx spends about as much CPU per request as the API's own intake work, on the same two
cores; the raw-start baseline's client is the SDK's Rust core, which costs almost nothing.
This client does what the benchmark needs and little else: POST a JSON body, or GET, on a
kept-open connection and read a response with a Content-Length.
"""

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field


@dataclass
class Connection:
    host: str
    port: int
    reader: asyncio.StreamReader | None = None
    writer: asyncio.StreamWriter | None = None

    async def post_json(
        self, path: str, body: bytes, headers: dict[str, str] | None = None
    ) -> tuple[int, bytes]:
        return await self.request(
            "POST",
            path,
            body,
            {
                "Content-Type": "application/json",
                "Content-Length": str(len(body)),
                **(headers or {}),
            },
        )

    async def get(self, path: str, headers: dict[str, str] | None = None) -> tuple[int, bytes]:
        return await self.request("GET", path, b"", headers)

    async def request(
        self, method: str, path: str, body: bytes, headers: dict[str, str] | None
    ) -> tuple[int, bytes]:
        reused = self.writer is not None
        try:
            status_line = await self._send(method, path, body, headers)
        except (ConnectionError, OSError):
            if not reused:
                raise
            status_line = b""
        if not status_line and reused:
            # A kept-open connection the server closed while it sat idle (uvicorn closes them
            # after 5 s, as between repeats): send again on a new one, as HTTP clients do. The
            # intake's idempotency key makes a second POST the same submission.
            await self.close()
            status_line = await self._send(method, path, body, headers)
        if not status_line:
            raise ConnectionError("the server closed the connection")
        assert self.reader is not None
        status = int(status_line.split(b" ", 2)[1])
        length, close = 0, False
        while True:
            line = await self.reader.readline()
            if line in (b"\r\n", b"\n", b""):
                break
            name, _, value = line.decode("latin-1").partition(":")
            name = name.strip().lower()
            if name == "content-length":
                length = int(value.strip())
            elif name == "connection" and value.strip().lower() == "close":
                close = True
        data = await self.reader.readexactly(length) if length else b""
        if close:
            await self.close()
        return status, data

    async def _send(
        self, method: str, path: str, body: bytes, headers: dict[str, str] | None
    ) -> bytes:
        """Write the request and read its status line (empty if the server closed)."""
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        assert self.reader is not None
        head = [f"{method} {path} HTTP/1.1", f"Host: {self.host}:{self.port}"]
        head += [f"{k}: {v}" for k, v in (headers or {}).items()]
        self.writer.write(("\r\n".join(head) + "\r\n\r\n").encode() + body)
        await self.writer.drain()
        return await self.reader.readline()

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            with contextlib.suppress(OSError):
                await self.writer.wait_closed()
        self.reader = self.writer = None


@dataclass
class Pool:
    """`size` connections, each used by one request at a time."""

    host: str
    port: int
    size: int
    _free: asyncio.Queue[Connection] = field(default_factory=asyncio.Queue)

    def __post_init__(self) -> None:
        for _ in range(self.size):
            self._free.put_nowait(Connection(self.host, self.port))

    @contextlib.asynccontextmanager
    async def connection(self) -> AsyncIterator[Connection]:
        conn = await self._free.get()
        try:
            yield conn
        except BaseException:
            await conn.close()
            raise
        finally:
            self._free.put_nowait(conn)

    async def post_json(
        self, path: str, body: bytes, headers: dict[str, str] | None = None
    ) -> tuple[int, bytes]:
        async with self.connection() as conn:
            return await conn.post_json(path, body, headers)

    async def get(self, path: str, headers: dict[str, str] | None = None) -> tuple[int, bytes]:
        async with self.connection() as conn:
            return await conn.get(path, headers)

    async def close(self) -> None:
        while not self._free.empty():
            await self._free.get_nowait().close()
