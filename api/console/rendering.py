"""The console's templates, and rendering a page with what every console page needs."""

from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from jinja2 import Environment, PackageLoader, select_autoescape

from api.console.session import session_state
from api.tokens import Principal
from i18n import SOURCE_LANGUAGE, localized_environment


def console_environment(language: str = SOURCE_LANGUAGE) -> Environment:
    """The console's Jinja environment. Every text a person reads goes through `_()`, which
    the translation catalogues (i18n/) translate; staff read the console in English for now."""
    return localized_environment(
        language, loader=PackageLoader("api.console", "templates"), autoescape=select_autoescape()
    )


def console_templates() -> Jinja2Templates:
    return Jinja2Templates(env=console_environment())


def render(
    request: Request,
    template: str,
    context: dict[str, Any] | None = None,
    *,
    status: int = 200,
    principal: Principal | None = None,
) -> HTMLResponse:
    """A console page. Its forms take their token from `csrf_token()`, which starts a session
    only for pages that have a form."""
    state = session_state(request.scope)
    templates: Jinja2Templates = request.app.state.console.templates
    return templates.TemplateResponse(
        request,
        template,
        {
            "csrf_token": lambda: state.ensure().csrf,
            "principal": principal,
            "lang": "en",
            **(context or {}),
        },
        status_code=status,
    )
