"""Partner links: the signed, expiring tokens that a hotel's or transfer partner's request
email carries, to confirm that one request.

Each is an HS256 JWT under the link secret with an audience of its own (so a patient link is
never taken for one, nor one for a patient link), scoped to one journey and one of its
bookings, with an id of its own that the API records when the link is used: a link confirms
once (`db/partner_confirmations.py`). The worker signs them into emails and the API verifies
them, so they live beside both, as patient links do.
"""

import uuid
from dataclasses import dataclass

from settings import Settings
from signed_links import sign_link, verify_link

PARTNER_LINK_AUDIENCE = "journeys-partner-link"
PARTNER_PAGE_PATH = "/partner-confirmations"


class PartnerLinkRefused(Exception):
    """The link is expired, forged or not a partner link."""


class PartnerLinkExpired(PartnerLinkRefused):
    """A partner link of ours that has outlived its days."""


@dataclass(frozen=True)
class PartnerLink:
    """The journey and booking a verified link confirms, and the link's own id."""

    journey_id: str
    booking_id: str
    token_id: str


def mint_partner_link(settings: Settings, *, journey_id: str, booking_id: str) -> str:
    claims: dict[str, object] = {"jid": journey_id, "bid": booking_id, "jti": str(uuid.uuid4())}
    return sign_link(
        settings, claims, audience=PARTNER_LINK_AUDIENCE, ttl_days=settings.partner_link_ttl_days
    )


def partner_page_url(settings: Settings, *, journey_id: str, booking_id: str) -> str:
    """The page where the partner confirms the booking: what its request emails point to."""
    token = mint_partner_link(settings, journey_id=journey_id, booking_id=booking_id)
    base = settings.public_base_url.rstrip("/")
    return f"{base}{PARTNER_PAGE_PATH}/{journey_id}?token={token}"


def verify_partner_link(settings: Settings, token: str) -> PartnerLink:
    claims = verify_link(
        settings,
        token,
        audience=PARTNER_LINK_AUDIENCE,
        require=["exp", "jid", "bid", "jti"],
        refused=PartnerLinkRefused,
        expired=PartnerLinkExpired,
        expired_says="the link has expired",
    )
    try:
        token_id = str(uuid.UUID(str(claims["jti"])))
    except ValueError:
        raise PartnerLinkRefused("the link is not valid") from None
    return PartnerLink(
        journey_id=str(claims["jid"]), booking_id=str(claims["bid"]), token_id=token_id
    )
