"""Signed links: the expiring HS256 JWTs under the link secret (`JOURNEYS_LINK_SECRET`) that
emails carry and the API verifies, each kind with an audience of its own, so that one kind is
never taken for another (patient_links.py, partner_links.py)."""

import time
from typing import Any

import jwt
from jwt.types import Options

from settings import Settings

ALGORITHM = "HS256"


def sign_link(
    settings: Settings, claims: dict[str, object], *, audience: str, ttl_days: int
) -> str:
    """A link of `audience` carrying `claims`, valid for `ttl_days` from now."""
    now = int(time.time())
    return jwt.encode(
        {**claims, "iat": now, "exp": now + ttl_days * 86400, "aud": audience},
        settings.link_secret.get_secret_value(),
        algorithm=ALGORITHM,
    )


def decode_link(
    settings: Settings, token: str, *, audience: str, options: Options
) -> dict[str, Any]:
    """The claims of a link of ours of `audience`; `jwt.PyJWTError` for anything else (its
    `jwt.ExpiredSignatureError` for one that has expired, unless `options` skip the check)."""
    return jwt.decode(
        token,
        settings.link_secret.get_secret_value(),
        algorithms=[ALGORITHM],
        audience=audience,
        options=options,
    )


def verify_link(
    settings: Settings,
    token: str,
    *,
    audience: str,
    require: list[str],
    refused: type[Exception],
    expired: type[Exception],
    expired_says: str,
) -> dict[str, Any]:
    """The claims of a link of `audience` that is ours, unexpired and carries `require`;
    otherwise `expired(expired_says)` or `refused`, worded for whoever opened it."""
    try:
        return decode_link(settings, token, audience=audience, options={"require": require})
    except jwt.ExpiredSignatureError as err:
        raise expired(expired_says) from err
    except jwt.PyJWTError as err:
        raise refused("the link is not valid") from err
