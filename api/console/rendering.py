"""The console's templates, and rendering a page with what every console page needs."""

from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from jinja2 import Environment, PackageLoader, select_autoescape

from api.console.session import session_state
from api.tokens import Principal


def console_environment() -> Environment:
    """The console's Jinja environment. Every text a person reads goes through `_()`; the
    null translations show it as written until the translation catalogues replace them here."""
    env = Environment(
        loader=PackageLoader("api.console", "templates"),
        autoescape=select_autoescape(),
        extensions=["jinja2.ext.i18n"],
    )
    # As the catalogues' environments will: a text wrapped over lines is one message.
    env.policies["ext.i18n.trimmed"] = True
    env.install_null_translations(newstyle=True)  # type: ignore[attr-defined]
    return env


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
