"""Tokens: staff bearer tokens (JWT) and signed per-journey patient links.

Staff tokens are verified against the configured OIDC key set in production, or against the
development secret that `journeys token` signs with. Patient links (`patient_links.py`) are
HS256 JWTs with their own secret and audience, scoped to one journey and expiring.
"""

import time
from dataclasses import dataclass

import jwt
from jwt import PyJWKClient

from domain.actors import Actor, Role
from domain.readers import STAFF_ROLES
from patient_links import (
    PATIENT_LINK_AUDIENCE,
    PatientLinkExpired,
    PatientLinkRefused,
    link_language,
    verify_patient_link,
)
from settings import Settings


class TokenError(Exception):
    """The token is missing, malformed, expired or not ours."""


class LinkExpired(TokenError):
    """A patient link of ours that has outlived its days."""


class LinkRevoked(TokenError):
    """A patient link of ours that a coordinator has replaced with a newer one."""


@dataclass(frozen=True)
class Principal:
    """Who calls: a staff member with a role, or a patient through one journey's link."""

    actor: Actor
    name: str
    journey_id: str | None = None
    # A patient link's generation (see db/patient_links.py) and the language it was sent in.
    link_generation: int = 0
    link_language: str | None = None

    @property
    def is_patient(self) -> bool:
        return self.actor.role is Role.PATIENT


def mint_staff_token(
    settings: Settings, *, subject: str, name: str, role: Role, ttl_seconds: int = 12 * 3600
) -> str:
    if role not in STAFF_ROLES:
        raise ValueError(f"{role.value} is not a staff role")
    now = int(time.time())
    return jwt.encode(
        {
            "sub": subject,
            "name": name,
            "role": role.value,
            "iat": now,
            "exp": now + ttl_seconds,
            "iss": settings.jwt_issuer,
            "aud": settings.jwt_audience,
        },
        settings.jwt_secret.get_secret_value(),
        algorithm="HS256",
    )


class TokenVerifier:
    """Verifies either kind of token; the OIDC key set is fetched lazily and cached."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._jwks = PyJWKClient(settings.oidc_jwks_url) if settings.oidc_jwks_url else None

    @property
    def may_fetch_keys(self) -> bool:
        """Whether `verify` can block on fetching the OIDC key set (so call it off the loop)."""
        return self._jwks is not None

    def verify(self, token: str) -> Principal:
        try:
            unverified = jwt.decode(token, options={"verify_signature": False})
        except jwt.PyJWTError as err:
            raise TokenError("the token is malformed") from err
        if unverified.get("aud") == PATIENT_LINK_AUDIENCE:
            return self._patient(token)
        return self._staff(token)

    def verify_patient_link(self, token: str) -> Principal:
        """A patient link only: any other token is refused without being checked further
        (a staff token could make `verify` fetch the OIDC key set)."""
        try:
            unverified = jwt.decode(token, options={"verify_signature": False})
        except jwt.PyJWTError as err:
            raise TokenError("the link is not valid") from err
        if unverified.get("aud") != PATIENT_LINK_AUDIENCE:
            raise TokenError("the link is not valid")
        return self._patient(token)

    def _patient(self, token: str) -> Principal:
        try:
            link = verify_patient_link(self._settings, token)
        except PatientLinkExpired as err:
            raise LinkExpired(str(err)) from err
        except PatientLinkRefused as err:
            raise TokenError(str(err)) from err
        return Principal(
            actor=Actor(id=link.patient_id, role=Role.PATIENT),
            name="patient",
            journey_id=link.journey_id,
            link_generation=link.generation,
            link_language=link.language,
        )

    def link_language(self, token: str) -> str | None:
        """The language a patient link of ours was sent in, even once it has expired: the
        page that refuses it speaks that language. None for anything we did not sign."""
        return link_language(self._settings, token)

    def _staff(self, token: str) -> Principal:
        s = self._settings
        try:
            if self._jwks is not None:
                key = self._jwks.get_signing_key_from_jwt(token).key
                claims = jwt.decode(
                    token,
                    key,
                    algorithms=["RS256", "ES256"],
                    audience=s.oidc_audience,
                    issuer=s.oidc_issuer,
                    options={"require": ["exp", "sub"]},
                )
            else:
                claims = jwt.decode(
                    token,
                    s.jwt_secret.get_secret_value(),
                    algorithms=["HS256"],
                    audience=s.jwt_audience,
                    issuer=s.jwt_issuer,
                    options={"require": ["exp", "sub"]},
                )
        except jwt.ExpiredSignatureError as err:
            raise TokenError("the token has expired") from err
        except jwt.PyJWTError as err:
            raise TokenError("the token is not valid") from err
        role_claim = claims.get("role") or next(iter(claims.get("roles") or []), None)
        try:
            role = Role(str(role_claim))
        except ValueError:
            raise TokenError("the token carries no staff role") from None
        if role not in STAFF_ROLES:
            raise TokenError("the token carries no staff role")
        return Principal(
            actor=Actor(id=str(claims["sub"])[:120], role=role),
            name=str(claims.get("name") or claims["sub"]),
        )
