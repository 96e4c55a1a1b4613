"""Who is looking at a console page, and how they read it: their language and time zone.

The language is the one chosen with the console's switch (kept in the session's cookie), else
the browser's Accept-Language, else English. The time zone is the one in the person's staff
record (read with their session on each request); a record whose zone is not one (an operator's
typing) gives way to the zone their browser reports (a cookie a line of script in base.html
sets), else UTC. Pages always name the zone beside a time.
"""

from dataclasses import dataclass
from typing import Literal

from fastapi import Request

from api.console.session import session_state
from api.tokens import Principal
from domain.inquiry import is_time_zone
from i18n import SOURCE_LANGUAGE, negotiate, resolve, supported_languages

BROWSER_ZONE_COOKIE = "journeys_tz"
DEFAULT_ZONE = "UTC"
ZoneSource = Literal["staff", "browser", "default"]


@dataclass(frozen=True)
class Viewer:
    """The signed-in member of staff, the language they read and the zone of their clock."""

    principal: Principal
    language: str
    time_zone: str
    zone_source: ZoneSource


def page_language(request: Request) -> str:
    """The language to write a console page in, for anyone, signed in or not."""
    session = session_state(request.scope).session
    chosen = session.language if session is not None else None
    if chosen in supported_languages():
        return resolve(chosen)
    return negotiate(request.headers.get("accept-language")) or SOURCE_LANGUAGE


def viewer_zone(staff_zone: str | None, request: Request) -> tuple[str, ZoneSource]:
    """The zone to show times in: the staff record's, else the browser's, else UTC."""
    if staff_zone and is_time_zone(staff_zone):
        return staff_zone, "staff"
    browser = request.cookies.get(BROWSER_ZONE_COOKIE)
    if browser and is_time_zone(browser):
        return browser, "browser"
    return DEFAULT_ZONE, "default"
