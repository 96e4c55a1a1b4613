"""The staff console: server-rendered pages under /staff, signed in through the organisation's
OpenID Connect provider (in development, as one of the staff in the database).

Pages take the signed-in member of staff with `ViewerDep` (api/console/guards.py: who, in which
language and time zone), render with `render(…, viewer=viewer)` (api/console/rendering.py) and
put `{{ m.csrf_field() }}` in each form: the gate every console route passes checks it on every
POST. The worklist (worklist.py), the case page (case_page.py) and the overview (overview.py)
read through api/reads/, as the JSON API does; claims' forms (claims.py) change claims through
api/claims.py, as the JSON API does; the staff directory (directory.py) changes the staff table
through db/staff_directory.py.
"""

from dataclasses import dataclass

from fastapi import FastAPI

from api.console import (
    case_page,
    claims,
    demo,
    directory,
    overview,
    preferences,
    routes,
    worklist,
)
from api.console.guards import install_console_handlers
from api.console.oidc import OidcSignIn
from api.console.rendering import console_environments
from api.console.session import ConsoleSessionMiddleware, SessionStore
from i18n import LocalizedEnvironments
from settings import Settings


@dataclass(frozen=True)
class Console:
    """What console routes need, built once with the app (no network, no I/O)."""

    settings: Settings
    environments: LocalizedEnvironments
    sessions: SessionStore
    oidc: OidcSignIn | None


def install_console(app: FastAPI, settings: Settings) -> None:
    sessions = SessionStore.from_settings(settings)
    app.state.console = Console(
        settings=settings,
        environments=console_environments(),
        sessions=sessions,
        oidc=(OidcSignIn(settings) if settings.oidc_issuer and settings.oidc_client_id else None),
    )
    app.add_middleware(
        ConsoleSessionMiddleware, store=sessions, secure=settings.environment != "development"
    )
    install_console_handlers(app)
    for router in (
        routes.router,
        worklist.router,
        case_page.router,
        claims.router,
        overview.router,
        preferences.router,
        directory.router,
    ):
        app.include_router(router)
    if settings.environment == "development":
        app.include_router(demo.router)
