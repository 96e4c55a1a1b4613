"""The console's session: a signed cookie saying who is signed in, since when, when they were
last seen, and the token every console form carries. It holds no patient data.

The cookie is signed, not encrypted: its holder may read it (their own name and role) but not
change it. It is scoped to where it is read (`/staff`, `/codec`, `/temporal`), HttpOnly,
SameSite=Lax (the provider's redirect back to the callback is a top-level GET, which Lax lets
through; a cross-site POST carries no cookie), and Secure outside development. A signed-in
session ends after `session_idle_minutes` without a request and `session_max_hours` after
sign-in, whatever the activity.

Sign-out deletes the browser's cookie; a copy taken before then stays valid until it idles
out, as no server-side list of sessions is kept.
"""

import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.cookies import SimpleCookie
from typing import Any, Literal

from itsdangerous import BadData, URLSafeSerializer
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.datastructures import MutableHeaders
from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.tokens import Principal
from domain.actors import Actor, Role
from settings import Settings

COOKIE_NAME = "journeys_console"
CONSOLE_PATH = "/staff"
# Where the session is read, and so where the browser sends the cookie: the console; the
# codec server, which the Temporal UI calls from the browser with credentials (in production
# at the site's `/codec`, in development through the UI's own address, devstack/ui_proxy.py);
# and the Temporal UI the production proxy serves under `/temporal/`, asking the console for
# each request with the browser's cookies (`/staff/temporal-ui-access`). A cookie has one
# path and these share none but `/`, so it is set once for each: never sent to the patient's
# page, the form or the JSON API.
COOKIE_PATHS = ("/staff", "/codec", "/temporal")
# The cookie's path before: expired with every write, so that a browser still holding such a
# cookie stops sending it (beside the new one it would be read in its place).
FORMER_COOKIE_PATH = "/"
# Where the middleware leaves the request's SessionState in the ASGI scope.
STATE_KEY = "journeys.console"
# Keeps this cookie's signatures apart from anything else signed with the same secret.
SIGNING_SALT = "journeys.console.session.v1"
Ending = Literal["forged", "idle", "lifetime"]


class ConsoleSession(BaseModel):
    """The cookie's content: a staff member's id, name and role once signed in, timestamps
    (Unix seconds) and the form token."""

    model_config = ConfigDict(extra="forbid")

    csrf: str
    started_at: float
    seen_at: float
    staff_id: str | None = None
    name: str | None = None
    role: str | None = None
    # The language the person chose with the console's language switch; unset, their
    # browser's Accept-Language decides.
    language: str | None = None
    # The time zone of their staff record, read once at sign-in (pages show times in it
    # without a query each); unset for someone with no record.
    time_zone: str | None = None
    # Authlib's sign-in transaction (state, nonce, PKCE verifier) between the redirect to the
    # provider and its answer; empty otherwise.
    oauth: dict[str, Any] = Field(default_factory=dict)
    # The console page a signed-out visitor asked for, kept here (signed, so not theirs to
    # change) across the provider's round-trip, and opened once they are signed in.
    after_sign_in: str | None = None

    @property
    def signed_in(self) -> bool:
        return self.staff_id is not None

    def principal(self) -> Principal | None:
        """Who is signed in, or None for a signed-out visitor."""
        if self.staff_id is None or self.role is None:
            return None
        return Principal(
            actor=Actor(id=self.staff_id, role=Role(self.role)), name=self.name or self.staff_id
        )


class SessionCodec:
    """Signs and reads session cookies, and says when a session has ended.

    `clock` is handed in so that a test can sign a session as if it were older.
    """

    def __init__(
        self,
        secret: str,
        *,
        idle_seconds: float,
        max_seconds: float,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._serializer = URLSafeSerializer(secret, salt=SIGNING_SALT)
        self.idle_seconds = idle_seconds
        self.max_seconds = max_seconds
        self.clock = clock

    @classmethod
    def from_settings(cls, settings: Settings) -> "SessionCodec":
        return cls(
            settings.session_secret.get_secret_value(),
            idle_seconds=settings.session_idle_minutes * 60,
            max_seconds=settings.session_max_hours * 3600,
        )

    def new(
        self,
        *,
        staff_id: str | None = None,
        name: str | None = None,
        role: str | None = None,
        language: str | None = None,
        time_zone: str | None = None,
    ) -> ConsoleSession:
        """A fresh session with a fresh form token: a sign-in never keeps the token (nor
        anything else but the language chosen) of the session before it."""
        now = self.clock()
        return ConsoleSession(
            csrf=secrets.token_urlsafe(32),
            started_at=now,
            seen_at=now,
            staff_id=staff_id,
            name=name,
            role=role,
            language=language,
            time_zone=time_zone,
        )

    def dumps(self, session: ConsoleSession) -> str:
        signed: str = self._serializer.dumps(session.model_dump(mode="json"))
        return signed

    def loads(self, value: str) -> ConsoleSession | None:
        """The session a cookie holds, or None when its signature or content is not ours."""
        try:
            return ConsoleSession.model_validate(self._serializer.loads(value))
        except (BadData, ValidationError):
            return None

    def ending(self, session: ConsoleSession) -> Ending | None:
        now = self.clock()
        if now - session.started_at > self.max_seconds:
            return "lifetime"
        # A signed-out visitor's session holds only a form token, so idling ends nothing.
        if session.signed_in and now - session.seen_at > self.idle_seconds:
            return "idle"
        return None

    def read(self, value: str | None) -> "SessionState":
        """The state of a request that came with this cookie value (or none)."""
        if value is None:
            return SessionState(codec=self, session=None)
        session = self.loads(value)
        if session is None:
            return SessionState(codec=self, session=None, ending="forged", changed=True)
        ending = self.ending(session)
        if ending is not None:
            return SessionState(
                codec=self,
                session=None,
                ended=session if session.signed_in else None,
                ending=ending if session.signed_in else None,
                changed=True,
            )
        if session.signed_in:
            # Any request counts as activity; the refreshed cookie goes out with the answer.
            session.seen_at = self.clock()
            return SessionState(codec=self, session=session, changed=True)
        return SessionState(codec=self, session=session)


@dataclass
class SessionState:
    """One request's view of its session; the middleware writes it back if it changed."""

    codec: SessionCodec
    session: ConsoleSession | None
    # A signed-in session this request's cookie held, ended by idling or age (its identity is
    # still known: its signature was good).
    ended: ConsoleSession | None = None
    ending: Ending | None = None
    changed: bool = False

    def ensure(self) -> ConsoleSession:
        """The live session, started now if there is none (a page with a form needs one)."""
        if self.session is None:
            self.session = self.codec.new()
            self.changed = True
        return self.session

    def replace(self, session: ConsoleSession | None) -> None:
        self.session = session
        self.changed = True

    @property
    def expected_csrf(self) -> str | None:
        """The form token a POST must carry: the live session's, or the one of a session that
        just ended, so that a form sent after idling is answered with sign-in, not refused."""
        for session in (self.session, self.ended):
            if session is not None:
                return session.csrf
        return None


def session_state(scope: Scope) -> SessionState:
    state: SessionState = scope[STATE_KEY]
    return state


def is_console_path(path: str) -> bool:
    return path == CONSOLE_PATH or path.startswith(CONSOLE_PATH + "/")


class ConsoleSessionMiddleware:
    """Reads the session cookie of every console request and writes it back when it changed.

    Also marks every console answer `no-store`: a page seen while signed in must not come back
    from the browser's cache (the back button) once the session is over, and later pages carry
    patient data. Other paths pass through untouched.
    """

    def __init__(self, app: ASGIApp, *, codec: SessionCodec, secure: bool) -> None:
        self.app = app
        self.codec = codec
        self.secure = secure

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not is_console_path(scope["path"]):
            await self.app(scope, receive, send)
            return
        state = self.codec.read(HTTPConnection(scope).cookies.get(COOKIE_NAME))
        scope[STATE_KEY] = state

        async def send_with_session(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers["cache-control"] = "no-store"
                headers["content-security-policy"] = "frame-ancestors 'none'"
                headers["referrer-policy"] = "same-origin"
                if state.changed:
                    for path in COOKIE_PATHS:
                        headers.append("set-cookie", self._cookie(state.session, path))
                    headers.append("set-cookie", self._cookie(None, FORMER_COOKIE_PATH))
            await send(message)

        await self.app(scope, receive, send_with_session)

    def _cookie(self, session: ConsoleSession | None, path: str) -> str:
        cookie: SimpleCookie = SimpleCookie()
        cookie[COOKIE_NAME] = "" if session is None else self.codec.dumps(session)
        morsel = cookie[COOKIE_NAME]
        morsel["path"] = path
        morsel["httponly"] = True
        morsel["samesite"] = "Lax"
        if self.secure:
            morsel["secure"] = True
        if session is None:
            morsel["max-age"] = 0
        # No Max-Age otherwise: the cookie also ends when the browser closes.
        return morsel.OutputString()
