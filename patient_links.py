"""Patient links: the signed, expiring tokens that patients' emails carry to their page.

Each is an HS256 JWT under its own secret (`JOURNEYS_LINK_SECRET`) and audience, scoped to one
journey and one patient. The worker signs them into emails and the API verifies them, so they
live beside both rather than in either.

A link also carries its journey's link generation, which a coordinator's revocation moves on
(`db/patient_links.py`; the API refuses a link of an earlier generation), and the language it
was sent in, so that the page refusing it once it has expired still speaks that language.
"""

import time
from dataclasses import dataclass

import jwt

from settings import Settings

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
    now = int(time.time())
    claims: dict[str, object] = {
        "sub": patient_id,
        "jid": journey_id,
        "iat": now,
        "exp": now + settings.link_ttl_days * 86400,
        "aud": PATIENT_LINK_AUDIENCE,
        "gen": generation,
    }
    if language:
        claims["lang"] = language
    return jwt.encode(claims, settings.link_secret.get_secret_value(), algorithm="HS256")


def patient_page_url(
    settings: Settings,
    *,
    journey_id: str,
    patient_id: str,
    generation: int = 0,
    language: str | None = None,
) -> str:
    """The patient's page, opened with a fresh link: what patient emails point to."""
    token = mint_patient_link(
        settings,
        journey_id=journey_id,
        patient_id=patient_id,
        generation=generation,
        language=language,
    )
    return f"{settings.public_base_url.rstrip('/')}{PATIENT_PAGE_PATH}?token={token}"


def verify_patient_link(settings: Settings, token: str) -> PatientLink:
    try:
        claims = jwt.decode(
            token,
            settings.link_secret.get_secret_value(),
            algorithms=["HS256"],
            audience=PATIENT_LINK_AUDIENCE,
            options={"require": ["exp", "sub", "jid"]},
        )
    except jwt.ExpiredSignatureError as err:
        raise PatientLinkExpired(
            "the link has expired; ask your case manager for a new one"
        ) from err
    except jwt.PyJWTError as err:
        raise PatientLinkRefused("the link is not valid") from err
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
        claims = jwt.decode(
            token,
            settings.link_secret.get_secret_value(),
            algorithms=["HS256"],
            audience=PATIENT_LINK_AUDIENCE,
            options={"verify_exp": False},
        )
    except jwt.PyJWTError:
        return None
    language = claims.get("lang")
    return language if isinstance(language, str) else None
