"""The real FastAPI app, with its lifespan, answering an HTTP client in the test's own process
(no port, no server): what most API and console tests talk to."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx

from api.app import create_app
from settings import Settings


@asynccontextmanager
async def app_client(
    settings: Settings, *, base_url: str = "http://testserver", **client: Any
) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the app built from `settings`, open while its lifespan runs; `client` is
    handed to the httpx client (a timeout, for example)."""
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url=base_url, **client) as http:
            yield http
