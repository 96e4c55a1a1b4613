"""Sign-in at the organisation's OpenID Connect provider: authorization code with PKCE.

The provider is discovered from `<JOURNEYS_OIDC_ISSUER>/.well-known/openid-configuration`
when the first person signs in, not when the app is built. Authlib keeps the transaction
(state, nonce, PKCE verifier) in the console session between the redirect and the callback,
and checks the ID token's signature (the provider's key set), issuer, audience, nonce and
expiry. The staff id, name and role come from the ID token's claims, as they do for API tokens.
"""

from collections.abc import Mapping
from typing import Any

from authlib.integrations.base_client import OAuthError
from authlib.integrations.starlette_client import OAuth, StarletteOAuth2App
from fastapi import Request
from fastapi.responses import RedirectResponse

from api.console.session import SessionState
from api.tokens import Principal
from domain.actors import Actor, Role
from domain.readers import STAFF_ROLES
from settings import Settings

SCOPES = "openid profile email"


class RoleRefused(Exception):
    """The provider vouched for this person, but their role claim names no staff role."""

    def __init__(self, subject: str, claimed: str | None) -> None:
        super().__init__(subject)
        self.subject = subject
        self.claimed = claimed


def staff_principal(claims: Mapping[str, Any], role_claim: str) -> Principal:
    """The signed-in staff member from verified ID token claims.

    A role claim may be a list (many providers send all of a person's roles): the first staff
    role in it counts, so that roles the provider adds for itself ("offline_access") do not hide
    it.
    """
    subject = str(claims["sub"])[:120]
    value = claims.get(role_claim)
    candidates = value if isinstance(value, list) else [value]
    for candidate in candidates:
        try:
            role = Role(str(candidate))
        except ValueError:
            continue
        if role in STAFF_ROLES:
            name = claims.get("name") or claims.get("preferred_username") or subject
            return Principal(actor=Actor(id=subject, role=role), name=str(name)[:200])
    claimed = None if value is None else str(value)[:60]
    raise RoleRefused(subject, claimed)


class OidcSignIn:
    """The console's OIDC client, built from settings without touching the network."""

    def __init__(self, settings: Settings) -> None:
        if not (settings.oidc_issuer and settings.oidc_client_id):
            raise ValueError("the console needs JOURNEYS_OIDC_ISSUER and JOURNEYS_OIDC_CLIENT_ID")
        self.issuer = settings.oidc_issuer
        self.redirect_url = settings.console_redirect_url
        self.role_claim = settings.oidc_role_claim
        secret = settings.oidc_client_secret
        self._client: StarletteOAuth2App = OAuth().register(
            "staff",
            client_id=settings.oidc_client_id,
            client_secret=secret.get_secret_value() if secret else None,
            server_metadata_url=(
                f"{settings.oidc_issuer.rstrip('/')}/.well-known/openid-configuration"
            ),
            client_kwargs={
                "scope": SCOPES,
                "code_challenge_method": "S256",
                # Without a secret the console is a public client: PKCE alone binds the code.
                "token_endpoint_auth_method": "client_secret_basic" if secret else "none",
            },
        )

    @staticmethod
    def _attach(request: Request, state: SessionState) -> None:
        # Authlib keeps its transaction in `request.session`; here that is a part of the
        # console's own session, written back with it.
        request.scope["session"] = state.ensure().oauth
        state.changed = True

    async def start(self, request: Request, state: SessionState) -> RedirectResponse:
        """Redirect to the provider, with state, nonce and an S256 PKCE challenge."""
        self._attach(request, state)
        found = await self._client.create_authorization_url(self.redirect_url)
        await self._client.save_authorize_data(request, redirect_uri=self.redirect_url, **found)
        # 303: the sign-in button is a form POST, and the provider is asked with a GET.
        return RedirectResponse(found["url"], status_code=303)

    async def finish(self, request: Request, state: SessionState) -> Principal:
        """Exchange the callback's code (with the PKCE verifier) and read the ID token.

        Raises Authlib's OAuthError for a refused or forged callback, httpx errors when the
        provider does not answer, and RoleRefused for a person without a staff role.
        """
        self._attach(request, state)
        token = await self._client.authorize_access_token(
            request,
            # The issuer the API trusts too, rather than whatever the discovery document says.
            claims_options={"iss": {"essential": True, "values": [self.issuer]}},
        )
        claims = token.get("userinfo")
        if not claims:
            raise OAuthError(error="missing_id_token", description="no ID token came back")
        return staff_principal(claims, self.role_claim)
