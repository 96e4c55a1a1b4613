"""The page a patient gets when a form's body is past the cap (files too large to upload).

The body limit refuses such a request before the app reads it (api/limits.py), so this page
knows only what the address and headers say: the language (`?lang=`, else the browser's) and
the link's token, for the way back to the journey page. The page's script checks sizes before
sending, so only a form sent without it gets here.
"""

from urllib.parse import parse_qs, urlencode

from starlette.types import Scope

from api.pages import page_environments
from api.patient_page.routes import PAGE
from api.patient_page.view import Words
from i18n import SOURCE_LANGUAGE, negotiate


def too_large_page(scope: Scope, limit: int) -> bytes | None:
    """The refusal as a page in the patient's language, for the patient's page's forms only."""
    if not scope.get("path", "").startswith(f"{PAGE}/"):
        return None
    query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
    headers = dict(scope.get("headers") or [])
    language = (
        negotiate(query.get("lang", [""])[0])
        or negotiate(headers.get(b"accept-language", b"").decode("latin-1"))
        or SOURCE_LANGUAGE
    )
    token = query.get("token", [""])[0]
    back = f"{PAGE}?{urlencode({'token': token, 'lang': language})}" if token else ""
    template = page_environments()(language).get_template("patient/too_large.html")
    words = Words(language, "UTC")
    return template.render(back=back, limit=words.size(limit)).encode()
