"""Patient links: the signed, expiring tokens that patients' emails carry to their page.

Each is an HS256 JWT under its own secret (`JOURNEYS_LINK_SECRET`) and audience, scoped to one
journey and one patient. The worker signs them into emails and the API verifies them, so they
live beside both rather than in either.
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


@dataclass(frozen=True)
class PatientLink:
    """Whom a verified link speaks for."""

    patient_id: str
    journey_id: str


def mint_patient_link(settings: Settings, *, journey_id: str, patient_id: str) -> str:
    now = int(time.time())
    return jwt.encode(
        {
            "sub": patient_id,
            "jid": journey_id,
            "iat": now,
            "exp": now + settings.link_ttl_days * 86400,
            "aud": PATIENT_LINK_AUDIENCE,
        },
        settings.link_secret.get_secret_value(),
        algorithm="HS256",
    )


def patient_page_url(settings: Settings, *, journey_id: str, patient_id: str) -> str:
    """The patient's page, opened with a fresh link: what patient emails point to."""
    token = mint_patient_link(settings, journey_id=journey_id, patient_id=patient_id)
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
        raise PatientLinkRefused(
            "the link has expired; ask your case manager for a new one"
        ) from err
    except jwt.PyJWTError as err:
        raise PatientLinkRefused("the link is not valid") from err
    return PatientLink(patient_id=str(claims["sub"]), journey_id=str(claims["jid"]))
