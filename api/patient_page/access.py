"""Opening the patient's page with a link: its signature, expiry and generation checked, the
patient found, and the page's language chosen.

The page speaks the language asked for with `?lang=`, else the patient's preferred language,
else the browser's. A link it refuses gets a page that says why and how to get a new one, in
the language the link was sent in (a claim of the link, readable once it has expired), else the
browser's; a link to a journey whose personal data was erased gets a page saying so (410 Gone),
and no new link is sent for it.
"""

from dataclasses import dataclass
from typing import Literal

from fastapi import Request
from fastapi.responses import HTMLResponse

from api.auth import ensure_current_link
from api.pages import render_page
from api.reads.errors import JourneyErased
from api.tokens import LinkExpired, LinkRevoked, Principal, TokenError, TokenVerifier
from db.patient_page import PatientOnPage, PatientPageRepository
from i18n import SOURCE_LANGUAGE, negotiate

Refusal = Literal["invalid", "expired", "revoked", "erased"]
# Link pages hold personal data and a bearer token in their address: neither kept by the
# browser's cache nor passed on in a Referer header.
PRIVATE_HEADERS = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}


@dataclass(frozen=True)
class OpenLink:
    """A link the page honours: whose it is, for which journey, and the page's language."""

    principal: Principal
    token: str
    journey_id: str
    patient: PatientOnPage
    language: str


@dataclass(frozen=True)
class RefusedLink:
    why: Refusal
    language: str


def browser_language(request: Request) -> str | None:
    return negotiate(request.headers.get("accept-language"))


async def open_link(
    request: Request, token: str | None, wanted: str | None
) -> OpenLink | RefusedLink:
    verifier: TokenVerifier = request.app.state.verifier
    why: Refusal = "invalid"
    if token:
        try:
            principal = verifier.verify_patient_link(token)
            await ensure_current_link(request.app.state.pool, principal)
        except LinkExpired:
            why = "expired"
        except LinkRevoked:
            why = "revoked"
        except JourneyErased:
            why = "erased"
        except TokenError:
            why = "invalid"
        else:
            # The audit row of this request names the patient (api/audit_trail.py).
            request.state.principal = principal
            assert principal.journey_id is not None
            async with request.app.state.pool.acquire() as conn:
                patient = await PatientPageRepository(conn).patient(principal.journey_id)
            if patient is not None:
                language = (
                    negotiate(wanted)
                    or negotiate(patient.preferred_language)
                    or browser_language(request)
                    or SOURCE_LANGUAGE
                )
                return OpenLink(principal, token, principal.journey_id, patient, language)
    language = (
        negotiate(wanted)
        or negotiate(verifier.link_language(token) if token else None)
        or browser_language(request)
        or SOURCE_LANGUAGE
    )
    return RefusedLink(why, language)


def refused_link_page(request: Request, refused: RefusedLink) -> HTMLResponse:
    answer = render_page(
        request,
        "patient/link_refused.html",
        {"why": refused.why},
        language=refused.language,
        status=410 if refused.why == "erased" else 401,
    )
    answer.headers.update(PRIVATE_HEADERS)
    return answer
