"""Patient links: the signed, expiring tokens that patients' emails carry to their page.

Each is an HS256 JWT under its own secret (`JOURNEYS_LINK_SECRET`) and audience, scoped to one
journey and one patient. The worker signs them into emails and the API verifies them, so they
live beside both rather than in either.

A link also carries its journey's link generation, which a coordinator's revocation moves on
(`db/patient_links.py`; the API refuses a link of an earlier generation), and the language it
was sent in, so that the page refusing it once it has expired still speaks that language.
"""

from dataclasses import dataclass
from typing import Required, TypedDict, Unpack

import jwt

from settings import Settings
from signed_links import decode_link, sign_link, verify_link

PATIENT_LINK_AUDIENCE = "journeys-patient-link"
PATIENT_PAGE_PATH = "/my-journey"


class PatientLinkRefused(Exception):
    """The link is expired, forged or not a patient link; the message says which, for the
    patient."""


class PatientLinkExpired(PatientLinkRefused):
    """A link of ours that has outlived its days."""


@dataclass(frozen=True)
class PatientLink:
    """Whom a verified link speaks for, of which generation of the journey's links, in which
    language it was sent (None for links signed before links named one)."""

    patient_id: str
    journey_id: str
    generation: int = 0
    language: str | None = None


def mint_patient_link(
    settings: Settings,
    *,
    journey_id: str,
    patient_id: str,
    generation: int = 0,
    language: str | None = None,
) -> str:
    claims: dict[str, object] = {"sub": patient_id, "jid": journey_id, "gen": generation}
    if language:
        claims["lang"] = language
    return sign_link(
        settings, claims, audience=PATIENT_LINK_AUDIENCE, ttl_days=settings.link_ttl_days
    )


class LinkFor(TypedDict, total=False):
    """What a patient link is minted for: its journey and patient, the generation of the
    journey's links, and the language its email is in."""

    journey_id: Required[str]
    patient_id: Required[str]
    generation: int
    language: str | None


def patient_page_url(settings: Settings, **link: Unpack[LinkFor]) -> str:
    """The patient's page, opened with a fresh link: what patient emails point to."""
    token = mint_patient_link(settings, **link)
    return f"{settings.public_base_url.rstrip('/')}{PATIENT_PAGE_PATH}?token={token}"


def verify_patient_link(settings: Settings, token: str) -> PatientLink:
    claims = verify_link(
        settings,
        token,
        audience=PATIENT_LINK_AUDIENCE,
        require=["exp", "sub", "jid"],
        refused=PatientLinkRefused,
        expired=PatientLinkExpired,
        expired_says="the link has expired; ask your case manager for a new one",
    )
    generation, language = claims.get("gen", 0), claims.get("lang")
    return PatientLink(
        patient_id=str(claims["sub"]),
        journey_id=str(claims["jid"]),
        # A generation no revocation ever gives, for a claim that is not a number.
        generation=generation if isinstance(generation, int) else -1,
        language=language if isinstance(language, str) else None,
    )


def link_language(settings: Settings, token: str) -> str | None:
    """The language a link of ours was sent in, even once it has expired. None for anything
    we did not sign."""
    try:
        claims = decode_link(
            settings, token, audience=PATIENT_LINK_AUDIENCE, options={"verify_exp": False}
        )
    except jwt.PyJWTError:
        return None
    language = claims.get("lang")
    return language if isinstance(language, str) else None
