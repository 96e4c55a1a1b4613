"""The console's templates, one Jinja environment per language, and rendering a page with
what every console page needs: the viewer's language, their time zone, the form token."""

from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import PackageLoader, select_autoescape

from api.console.session import session_state
from api.console.viewer import Viewer, page_language
from api.console.wording import Wording
from api.tokens import Principal
from domain.readers import KEEPS_STAFF_DIRECTORY, SEES_OVERVIEW
from i18n import LocalizedEnvironments, direction, language_name, supported_languages


def console_environments() -> LocalizedEnvironments:
    """The console's templates in every language the catalogues have; each environment is
    built on first use. Every text a person reads goes through `_()` or `{% trans %}`."""
    return LocalizedEnvironments(
        PackageLoader("api.console", "templates"), autoescape=select_autoescape()
    )


def render(
    request: Request,
    template: str,
    context: dict[str, Any] | None = None,
    *,
    status: int = 200,
    principal: Principal | None = None,
    viewer: Viewer | None = None,
) -> HTMLResponse:
    """A console page in the viewer's language (or, before sign-in, the one the session or
    the browser asks for). Its forms take their token from `csrf_token()`, which starts a
    session only for pages that have a form."""
    state = session_state(request.scope)
    language = viewer.language if viewer is not None else page_language(request)
    environments: LocalizedEnvironments = request.app.state.console.environments
    page = environments(language).get_template(template)
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    shown = viewer.principal if viewer is not None else principal
    html = page.render(
        request=request,
        csrf_token=state.form_token,
        principal=shown,
        # The console's navigation offers the overview to those who may open it.
        shows_overview=shown is not None and shown.actor.role in SEES_OVERVIEW,
        # Staff administrators read no journey: the directory is their console.
        shows_directory=shown is not None and shown.actor.role in KEEPS_STAFF_DIRECTORY,
        viewer=viewer,
        lang=language,
        dir=direction(language),
        tz=viewer.time_zone if viewer is not None else "UTC",
        words=Wording(language),
        # The language switch: every language but the one shown, each named in itself.
        other_languages=[
            (code, language_name(code)) for code in supported_languages() if code != language
        ],
        here=here,
        **(context or {}),
    )
    return HTMLResponse(html, status_code=status)
