"""The console's session, held by the server, and the cookie that names it.

A row of `console_sessions` (db/console_sessions.py) says who is signed in, with which role,
since when and when they were last seen. The browser's cookie names that row by a random id,
and keeps what belongs to the browser rather than to the session: the language chosen with the
console's switch and, before sign-in, the sign-in form's token, the provider's sign-in
transaction and the page to open afterwards. Neither holds patient data, and the table keeps
only the SHA-256 of each id: reading it hands out no session.

Every console request whose cookie names a session reads its row, joined to the member's record
in the staff directory (one read by primary key), and the session ends on the server, for every
copy of its cookie, when:

- its member signs out;
- no request came for `session_idle_minutes` (automatic logoff), or `session_max_hours` have
  passed since sign-in, whatever the activity;
- the directory no longer has its member active with the session's role: every session of
  theirs ends at once (those already started with the new role stay).

The last-seen time is written at most every `SEEN_EVERY_SECONDS` (a tenth of the idle time when
that is shorter), not on every request, so a session may end that much before its idle time.

The cookie is signed, not encrypted: its holder may read it but not change it. It is HttpOnly,
SameSite=Lax (the provider's redirect back to the callback is a top-level GET, which Lax lets
through; a cross-site POST carries no cookie), Secure outside development, and scoped to where
it is read (`/staff`, `/codec`, `/temporal`; COOKIE_PATHS below). A form's token is derived
from the session's id (an HMAC under the session secret), so it lives exactly as long as the
session; before sign-in the cookie carries a random one.
"""

import hashlib
import hmac
import secrets
import time
from base64 import urlsafe_b64encode
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from http.cookies import SimpleCookie
from typing import Any, Literal, cast

import asyncpg
from itsdangerous import BadData, URLSafeSerializer
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.datastructures import MutableHeaders
from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.tokens import Principal
from db.console_sessions import ConsoleSessionRepository, SessionRow
from domain.actors import Actor, Role
from domain.readers import STAFF_ROLES
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
# Keeps the form tokens apart from anything else derived from the same secret.
FORM_TOKEN_SALT = b"journeys.console.form-token.v1:"
SEEN_EVERY_SECONDS = 60.0
# Why a request's cookie names no live session: "forged" (not signed here), "unknown" (no
# such session, or one whose lifetime is so long over that its row is gone), or why it ended.
Ending = Literal[
    "forged",
    "unknown",
    "signed_out",
    "idle",
    "lifetime",
    "deactivated",
    "role_changed",
    "replaced",
]
# Endings decided by the staff directory: each ends every session of the member.
DIRECTORY_ENDINGS: frozenset[str] = frozenset({"deactivated", "role_changed"})
_STAFF_ROLE_VALUES = frozenset(role.value for role in STAFF_ROLES)


class ConsoleSession(BaseModel):
    """The cookie's content: the id of the signed-in session, if any, the browser's choices and
    the sign-in's state, and when the cookie was first given (Unix seconds)."""

    # Cookies signed before sessions moved to the server carry who was signed in and when;
    # their extra fields are dropped, so they read as signed out rather than as forged.
    model_config = ConfigDict(extra="ignore")

    # The form token of a visitor who has not signed in (the sign-in forms); a signed-in
    # session's forms carry the token derived from its id.
    csrf: str
    started_at: float
    session_id: str | None = None
    # The language the person chose with the console's language switch; unset, their
    # browser's Accept-Language decides.
    language: str | None = None
    # Authlib's sign-in transaction (state, nonce, PKCE verifier) between the redirect to the
    # provider and its answer; empty otherwise.
    oauth: dict[str, Any] = Field(default_factory=dict)
    # The console page a signed-out visitor asked for, kept here (signed, so not theirs to
    # change) across the provider's round-trip, and opened once they are signed in.
    after_sign_in: str | None = None

    @property
    def signed_in(self) -> bool:
        """Whether the cookie names a session (which the server may have ended)."""
        return self.session_id is not None


@dataclass(frozen=True)
class LiveSession:
    """A session the server holds and the staff directory still backs, as of this request."""

    session_id: str
    principal: Principal
    # The time zone of the member's staff record.
    time_zone: str


@dataclass(frozen=True)
class EndedSession:
    """The session a request's cookie named, which is over."""

    # Who it was, while its row is kept; None for a session the server does not know.
    actor: Actor | None
    # Its form token: a form sent after it ended is answered with sign-in, not refused.
    csrf: str
    # Ended by this request (the audit row is this request's to write), rather than before.
    now: bool
    # How many sessions this request ended (every one of the member's, for the directory).
    sessions: int = 0
    # The staff directory does not have its member active (now, whatever ended the session).
    inactive: bool = False


def session_hash(session_id: str) -> bytes:
    """What the server keeps of a session's id."""
    return hashlib.sha256(session_id.encode()).digest()


def _directory_admits(row: SessionRow) -> bool:
    return row.active and row.directory_role in _STAFF_ROLE_VALUES


def row_ending(
    row: SessionRow, *, idle_seconds: float, max_seconds: float
) -> Literal["deactivated", "role_changed", "lifetime", "idle"] | None:
    """Why a session that has not ended must end now, or None while it may go on."""
    if not _directory_admits(row):
        return "deactivated"
    if row.directory_role != row.role:
        return "role_changed"
    if (row.now - row.started_at).total_seconds() > max_seconds:
        return "lifetime"
    if (row.now - row.seen_at).total_seconds() > idle_seconds:
        return "idle"
    return None


class SessionCodec:
    """Signs and reads the session cookie, and derives a session's form token.

    `clock` is handed in so that a test can sign a cookie as if it were older.
    """

    def __init__(
        self, secret: str, *, max_seconds: float, clock: Callable[[], float] = time.time
    ) -> None:
        self._serializer = URLSafeSerializer(secret, salt=SIGNING_SALT)
        self._form_key = hashlib.sha256(FORM_TOKEN_SALT + secret.encode()).digest()
        self.max_seconds = max_seconds
        self.clock = clock

    def new(self, *, session_id: str | None = None, language: str | None = None) -> ConsoleSession:
        """A fresh cookie with a fresh form token: a sign-in never keeps the token (nor anything
        else but the language chosen) of the cookie before it."""
        return ConsoleSession(
            csrf=secrets.token_urlsafe(32),
            started_at=self.clock(),
            session_id=session_id,
            language=language,
        )

    def dumps(self, session: ConsoleSession) -> str:
        signed: str = self._serializer.dumps(session.model_dump(mode="json"))
        return signed

    def loads(self, value: str) -> ConsoleSession | None:
        """The cookie's content, or None when its signature or content is not ours."""
        try:
            return ConsoleSession.model_validate(self._serializer.loads(value))
        except (BadData, ValidationError):
            return None

    def form_token(self, session_id: str) -> str:
        digest = hmac.new(self._form_key, session_id.encode(), hashlib.sha256).digest()
        return urlsafe_b64encode(digest).rstrip(b"=").decode()

    def read(self, value: str | None) -> "SessionState":
        """The state a request's cookie gives before the server's sessions are asked."""
        if value is None:
            return SessionState(codec=self, session=None)
        session = self.loads(value)
        if session is None:
            return SessionState(codec=self, session=None, ending="forged", changed=True)
        # A visitor's form token is renewed once in a session's lifetime; a signed-in
        # session's lifetime is the server's to say.
        if not session.signed_in and self.clock() - session.started_at > self.max_seconds:
            return SessionState(codec=self, session=None, changed=True)
        return SessionState(codec=self, session=session)


class SessionStore:
    """The console's sessions on the server: started at sign-in, checked on each request,
    ended by sign-out, time and the staff directory."""

    def __init__(
        self,
        codec: SessionCodec,
        *,
        idle_seconds: float,
        max_seconds: float,
        seen_every: float | None = None,
    ) -> None:
        self.codec = codec
        self.idle_seconds = idle_seconds
        self.max_seconds = max_seconds
        self.seen_every = (
            min(SEEN_EVERY_SECONDS, idle_seconds / 10) if seen_every is None else seen_every
        )

    @classmethod
    def from_settings(cls, settings: Settings) -> "SessionStore":
        max_seconds = settings.session_max_hours * 3600
        return cls(
            SessionCodec(settings.session_secret.get_secret_value(), max_seconds=max_seconds),
            idle_seconds=settings.session_idle_minutes * 60,
            max_seconds=max_seconds,
        )

    async def start(
        self, pool: asyncpg.Pool, *, principal: Principal, method: str, language: str | None
    ) -> ConsoleSession:
        """A new session for `principal` on the server, and the cookie that names it. Sessions
        past their lifetime are deleted as it starts."""
        session_id = secrets.token_urlsafe(32)
        async with pool.acquire() as conn:
            await ConsoleSessionRepository(conn).start(
                id_hash=session_hash(session_id),
                staff_id=principal.actor.id,
                role=principal.actor.role.value,
                method=method,
                lifetime=timedelta(seconds=self.max_seconds),
            )
        return self.codec.new(session_id=session_id, language=language)

    async def end(self, pool: asyncpg.Pool, *, session_id: str, reason: Ending) -> bool:
        async with pool.acquire() as conn:
            return await ConsoleSessionRepository(conn).end(
                id_hash=session_hash(session_id), reason=reason
            )

    async def read(self, pool: asyncpg.Pool, value: str | None, *, touch: bool) -> "SessionState":
        """The state of a request that came with this cookie value (or none): the live
        session it names, or why there is none. `touch` counts the request as the session's
        activity; an ending it finds is written to the server."""
        state = self.codec.read(value)
        session = state.session
        if session is None or session.session_id is None:
            return state
        id_hash = session_hash(session.session_id)
        ended_now = 0
        async with pool.acquire() as conn:
            sessions = ConsoleSessionRepository(conn)
            row = await sessions.find(id_hash=id_hash)
            ending: Ending | None
            if row is None:
                ending = "unknown"
            elif row.ended_reason is not None:
                ending = cast(Ending, row.ended_reason)
            else:
                ending = row_ending(
                    row, idle_seconds=self.idle_seconds, max_seconds=self.max_seconds
                )
                if ending in DIRECTORY_ENDINGS:
                    ended_now = await sessions.end_for_staff(
                        staff_id=row.staff_id,
                        reason=ending,
                        keep_role=row.directory_role if ending == "role_changed" else None,
                    )
                elif ending is not None:
                    ended_now = int(await sessions.end(id_hash=id_hash, reason=ending))
                elif touch and (row.now - row.seen_at).total_seconds() >= self.seen_every:
                    await sessions.touch(id_hash=id_hash)
        if row is not None and ending is None:
            principal = Principal(
                actor=Actor(id=row.staff_id, role=Role(row.role)), name=row.full_name
            )
            live = LiveSession(session.session_id, principal, row.time_zone)
            return SessionState(codec=self.codec, session=session, live=live)
        ended = EndedSession(
            actor=Actor(id=row.staff_id, role=Role(row.role)) if row is not None else None,
            csrf=self.codec.form_token(session.session_id),
            now=ended_now > 0,
            sessions=ended_now,
            inactive=row is not None and not _directory_admits(row),
        )
        return SessionState(
            codec=self.codec,
            session=None,
            ended=ended,
            ending=ending,
            changed=True,
        )


@dataclass
class SessionState:
    """One request's view of its session; the middleware writes the cookie back if it
    changed."""

    codec: SessionCodec
    # The cookie's content; None without a cookie, or once the session it named is over.
    session: ConsoleSession | None
    live: LiveSession | None = None
    # A session this request's cookie named, which is over (its cookie is removed).
    ended: EndedSession | None = None
    ending: Ending | None = None
    changed: bool = False

    def ensure(self) -> ConsoleSession:
        """The cookie, given now if there is none (a page with a form needs one)."""
        if self.session is None:
            self.session = self.codec.new()
            self.changed = True
        return self.session

    def replace(self, session: ConsoleSession | None) -> None:
        """Give the browser another cookie (or remove it); the request's live session, if
        any, is no longer this browser's."""
        self.session = session
        self.live = None
        self.changed = True

    def principal(self) -> Principal | None:
        """Who is signed in, or None."""
        return self.live.principal if self.live is not None else None

    def form_token(self) -> str:
        """The token this request's page puts in its forms."""
        if self.live is not None:
            return self.codec.form_token(self.live.session_id)
        return self.ensure().csrf

    @property
    def expected_csrf(self) -> str | None:
        """The form token a POST must carry: the live session's, the one of a session that
        just ended (so that a form sent after it is answered with sign-in, not refused), or a
        visitor's."""
        if self.live is not None:
            return self.codec.form_token(self.live.session_id)
        if self.ended is not None:
            return self.ended.csrf
        if self.session is not None and not self.session.signed_in:
            return self.session.csrf
        return None


def session_state(scope: Scope) -> SessionState:
    state: SessionState = scope[STATE_KEY]
    return state


def is_console_path(path: str) -> bool:
    return path == CONSOLE_PATH or path.startswith(CONSOLE_PATH + "/")


class ConsoleSessionMiddleware:
    """Reads the session of every console request and writes its cookie back when it changed.

    Also marks every console answer `no-store`: a page seen while signed in must not come back
    from the browser's cache (the back button) once the session is over, and later pages carry
    patient data. Other paths pass through untouched.
    """

    def __init__(self, app: ASGIApp, *, store: SessionStore, secure: bool) -> None:
        self.app = app
        self.store = store
        self.secure = secure

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not is_console_path(scope["path"]):
            await self.app(scope, receive, send)
            return
        state = await self.store.read(
            scope["app"].state.pool, HTTPConnection(scope).cookies.get(COOKIE_NAME), touch=True
        )
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
        cookie[COOKIE_NAME] = "" if session is None else self.store.codec.dumps(session)
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
