"""What every answer tells the browser it may do with it: a strict Content-Security-Policy on
every page, a sandbox on every file, and no type sniffing anywhere.

The pages (the form, the patient's page, the console) load their scripts and styles from
`/static/` alone and nothing inline, so the policy allows no inline code: an injected
`<script>` or `on…=` attribute does not run. A file served as a file (a document a patient
uploaded, an export) is sandboxed: opened in the browser, it runs in an opaque origin with no
scripts, whatever it holds.
"""

from urllib.parse import urlsplit

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from settings import Settings

STATIC_PATH = "/static"
FILE_POLICY = "sandbox; frame-ancestors 'none'"


def page_policy(form_targets: str = "") -> str:
    """The pages' policy; `form_targets` are origins beyond this one a form may lead to."""
    return "; ".join(
        (
            "default-src 'self'",
            "script-src 'self'",
            "style-src 'self'",
            "img-src 'self' data:",
            "frame-ancestors 'none'",
            f"form-action 'self'{f' {form_targets}' if form_targets else ''}",
            "base-uri 'none'",
            "object-src 'none'",
        )
    )


def origin_of(url: str | None) -> str:
    parts = urlsplit(url or "")
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else ""


class SecurityHeaders:
    """Sets the policy of each answer from what it is: a page (HTML), or a file (it names
    itself with Content-Disposition). Installed outermost, so that it has the last word over
    what inner layers set (the console's session layer sets only `frame-ancestors`).

    The console's sign-in form posts to the console, which redirects to the OIDC provider;
    a browser applies `form-action` to that redirect too, so console pages may also lead to
    the provider's origin.
    """

    def __init__(self, app: ASGIApp, *, provider_origin: str = "") -> None:
        self.app = app
        self.pages = page_policy()
        self.console_pages = page_policy(provider_origin)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        console = scope.get("path", "").startswith("/staff")

        async def send_with_policy(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers["x-content-type-options"] = "nosniff"
                if headers.get("content-type", "").startswith("text/html"):
                    policy = self.console_pages if console else self.pages
                    headers["content-security-policy"] = policy
                elif "content-disposition" in headers:
                    headers["content-security-policy"] = FILE_POLICY
            await send(message)

        await self.app(scope, receive, send_with_policy)


def install_security_headers(app: FastAPI, settings: Settings) -> None:
    """The pages' scripts and styles under /static, and the policies; call last, so that the
    policies wrap every other layer."""
    app.mount(STATIC_PATH, StaticFiles(packages=[("api", "static")]), name="static")
    app.add_middleware(SecurityHeaders, provider_origin=origin_of(settings.oidc_issuer))
