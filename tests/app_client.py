"""The real FastAPI app, with its lifespan, answering an HTTP client in the test's own process
(no port, no server): what most API and console tests talk to; and signing in to its console
as a demo member of staff, as the development sign-in page does."""

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
from fastapi import FastAPI

from api.app import create_app
from settings import Settings


@asynccontextmanager
async def running_app(settings: Settings) -> AsyncIterator[FastAPI]:
    """The app built from `settings`, while its lifespan runs."""
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        yield app


@asynccontextmanager
async def app_client(
    settings: Settings, *, base_url: str = "http://testserver", **client: Any
) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the app built from `settings`, open while its lifespan runs; `client` is
    handed to the httpx client (a timeout, for example)."""
    async with running_app(settings) as app:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url=base_url, **client) as http:
            yield http


def form_token(page: httpx.Response) -> str:
    """The token (against cross-site requests) that a console page's forms carry."""
    found = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert found, "the page has a form token"
    return found.group(1)


async def sign_in(console: httpx.AsyncClient, staff_id: str) -> None:
    """Signs the client in to the console as the demo member `staff_id`, whose first page is
    the worklist."""
    page = await console.get("/staff/sign-in")
    answer = await console.post(
        "/staff/sign-in/demo", data={"csrf_token": form_token(page), "staff_id": staff_id}
    )
    assert answer.status_code == 303 and answer.headers["location"] == "/staff/", answer.text


@asynccontextmanager
async def signed_in(
    app: FastAPI, staff_id: str, language: str = "en"
) -> AsyncIterator[tuple[httpx.AsyncClient, str]]:
    """A browser of its own signed in to the console as `staff_id`, reading `language`, and
    its form token."""
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url="http://testserver",
        headers={"Accept-Language": language},
    ) as http:
        await sign_in(http, staff_id)
        yield http, form_token(await http.get("/staff/"))
