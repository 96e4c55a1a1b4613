"""Tokens: staff bearer tokens (JWT) and signed per-journey patient links.

Staff tokens are verified against the configured OIDC key set in production, or against the
development secret that `journeys token` signs with. Patient links (`patient_links.py`) are
HS256 JWTs with their own secret and audience, scoped to one journey and expiring.
"""

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import jwt
from jwt import PyJWK, PyJWKClient

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

log = logging.getLogger(__name__)


class TokenError(Exception):
    """The token is missing, malformed, expired or not ours."""


class LinkExpired(TokenError):
    """A patient link of ours that has outlived its days."""


class LinkRevoked(TokenError):
    """A patient link of ours that a coordinator has replaced with a newer one."""


class NotALink(TokenError):
    """A token that is not a patient link (a staff token, say) where only a link may come."""


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


# How long the issuer's key set is used before it is fetched again, and the least time between
# two fetches: a token naming a key the set lacks (a rotation, or a made-up `kid`) fetches it
# again at most this often, so a stream of such tokens cannot make the API hammer the
# provider, whether the provider answers or fails.
KEY_SET_LIFESPAN_SECONDS = 300.0
KEY_REFETCH_SECONDS = 30.0
KEY_FETCH_TIMEOUT_SECONDS = 10.0


class IssuerKeys:
    """The OIDC issuer's signing keys by id, fetched on first use and refreshed when they are
    older than `lifespan` or a token names a key they lack, never twice within `refetch`
    seconds. A failed fetch keeps the keys fetched before it."""

    def __init__(
        self,
        url: str,
        *,
        lifespan: float = KEY_SET_LIFESPAN_SECONDS,
        refetch: float = KEY_REFETCH_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._client = PyJWKClient(url, cache_jwk_set=False, timeout=KEY_FETCH_TIMEOUT_SECONDS)
        self._lifespan, self._refetch, self._clock = lifespan, refetch, clock
        self._keys: dict[str, PyJWK] = {}
        self._fetched_at: float | None = None
        self._tried_at: float | None = None
        # One fetch at a time: tokens verified meanwhile (in the thread pool) wait for it.
        self._lock = threading.Lock()

    def key_for(self, token: str) -> PyJWK:
        try:
            kid = jwt.get_unverified_header(token).get("kid")
        except jwt.PyJWTError as err:
            raise TokenError("the token is malformed") from err
        if not isinstance(kid, str):
            raise TokenError("the token names no signing key")
        with self._lock:
            now = self._clock()
            fresh = self._fetched_at is not None and now - self._fetched_at < self._lifespan
            if not (fresh and kid in self._keys) and (
                self._tried_at is None or now - self._tried_at >= self._refetch
            ):
                self._tried_at = now
                try:
                    keys = self._client.get_signing_keys(refresh=True)
                except jwt.PyJWTError as err:
                    log.warning("the OIDC issuer's key set could not be fetched: %s", err)
                else:
                    self._keys = {key.key_id: key for key in keys if key.key_id}
                    self._fetched_at = now
            key = self._keys.get(kid)
        if key is None:
            raise TokenError("the token is not signed by a key of the issuer's")
        return key


class TokenVerifier:
    """Verifies either kind of token; the OIDC key set is fetched lazily and cached."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._jwks = IssuerKeys(settings.oidc_jwks_url) if settings.oidc_jwks_url else None

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
            raise NotALink("the link is not valid")
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
                key = self._jwks.key_for(token).key
                claims = jwt.decode(
                    token,
                    key,
                    algorithms=["RS256", "ES256"],
                    audience=s.oidc_audience,
                    issuer=s.oidc_issuer,
                    options={"require": ["exp", "sub"]},
                )
            elif s.environment == "production":
                # Refused at start already (settings.production_problems); never HS256 here.
                raise TokenError("the token is not valid")
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
