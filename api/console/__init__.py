"""The staff console: server-rendered pages under /staff, signed in through the organisation's
OpenID Connect provider (in development, as one of the staff in the database).

Later pages take the signed-in member of staff with `StaffSessionDep` (api/console/guards.py),
render with `render` (api/console/rendering.py) and put `{{ m.csrf_field() }}` in each form:
the gate every console route passes checks it on every POST.
"""

from dataclasses import dataclass

from fastapi import FastAPI
from fastapi.templating import Jinja2Templates

from api.console import demo, routes
from api.console.guards import install_console_handlers
from api.console.oidc import OidcSignIn
from api.console.rendering import console_templates
from api.console.session import ConsoleSessionMiddleware, SessionCodec
from settings import Settings


@dataclass(frozen=True)
class Console:
    """What console routes need, built once with the app (no network, no I/O)."""

    settings: Settings
    templates: Jinja2Templates
    codec: SessionCodec
    oidc: OidcSignIn | None


def install_console(app: FastAPI, settings: Settings) -> None:
    codec = SessionCodec.from_settings(settings)
    app.state.console = Console(
        settings=settings,
        templates=console_templates(),
        codec=codec,
        oidc=(OidcSignIn(settings) if settings.oidc_issuer and settings.oidc_client_id else None),
    )
    app.add_middleware(
        ConsoleSessionMiddleware, codec=codec, secure=settings.environment != "development"
    )
    install_console_handlers(app)
    app.include_router(routes.router)
    if settings.environment == "development":
        app.include_router(demo.router)
