"""Sign-in at the organisation's OpenID Connect provider: authorization code with PKCE.

The provider is discovered from `<JOURNEYS_OIDC_ISSUER>/.well-known/openid-configuration`
when the first person signs in, not when the app is built. Authlib keeps the transaction
(state, nonce, PKCE verifier) in the console session between the redirect and the callback,
and checks the ID token's signature (the provider's key set), issuer, audience, nonce and
expiry. The ID token's `sub` names the person at the provider, and the role claim the staff
roles the provider gives them, as for API tokens. The staff directory (the `staff` table) has
the last word: the person must be the active member of staff it links to that subject
(`oidc_subject`, the staff id unless an administrator linked another), with a role the provider
gives them too; the console then goes by the directory's id, role and name, and checks them
again on every request (api/console/session.py).
"""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from authlib.integrations.base_client import OAuthError
from authlib.integrations.starlette_client import OAuth, StarletteOAuth2App
from fastapi import Request
from fastapi.responses import RedirectResponse

from api.console.session import SessionState
from api.tokens import Principal
from db.staff import StaffMember
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


class DirectoryRefused(Exception):
    """The provider vouched for this person, but the staff directory does not let them in:
    no active member of staff with this id, or one whose role the provider does not give."""

    def __init__(
        self,
        subject: str,
        reason: Literal["not_active_staff", "role_mismatch"],
        directory_role: str | None,
    ) -> None:
        super().__init__(subject)
        self.subject = subject
        self.reason = reason
        self.directory_role = directory_role


@dataclass(frozen=True)
class ProviderIdentity:
    """Who the provider says signed in, and every staff role its role claim names, in order."""

    subject: str
    name: str
    roles: tuple[Role, ...]


def provider_identity(claims: Mapping[str, Any], role_claim: str) -> ProviderIdentity:
    """The person from verified ID token claims, with at least one staff role.

    A role claim may be a list (many providers send all of a person's roles): roles the
    provider adds for itself ("offline_access") are passed over.
    """
    subject = str(claims["sub"])[:120]
    value = claims.get(role_claim)
    candidates = value if isinstance(value, list) else [value]
    roles: list[Role] = []
    for candidate in candidates:
        try:
            role = Role(str(candidate))
        except ValueError:
            continue
        if role in STAFF_ROLES and role not in roles:
            roles.append(role)
    if not roles:
        claimed = None if value is None else str(value)[:60]
        raise RoleRefused(subject, claimed)
    name = claims.get("name") or claims.get("preferred_username") or subject
    return ProviderIdentity(subject=subject, name=str(name)[:200], roles=tuple(roles))


def directory_principal(identity: ProviderIdentity, member: StaffMember | None) -> Principal:
    """The member of staff who signs in: `member` is the directory's active record linked to
    the provider's subject, if there is one. Their role is the directory's, which the
    provider must give them too: the two agreeing is what lets them in."""
    if member is None:
        raise DirectoryRefused(identity.subject, "not_active_staff", None)
    if member.role not in {role.value for role in identity.roles}:
        raise DirectoryRefused(identity.subject, "role_mismatch", member.role)
    return Principal(actor=Actor(id=member.staff_id, role=Role(member.role)), name=member.full_name)


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

    async def finish(self, request: Request, state: SessionState) -> ProviderIdentity:
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
        return provider_identity(claims, self.role_claim)
