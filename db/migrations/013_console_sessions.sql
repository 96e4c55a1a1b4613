-- The staff console's sessions, held by the server (api/console/session.py,
-- db/console_sessions.py). The browser's cookie names a session by a random id; a row keeps
-- only the SHA-256 of that id, so whoever reads this table (a support query, a replica, a
-- backup) cannot use a row to act as anyone. Sign-out, idling, the session's lifetime and a
-- change in the staff directory end a row here, and a copy of the cookie is refused from then
-- on. Rows go once their lifetime is over, as people sign in.
CREATE TABLE console_sessions (
    id_hash         bytea PRIMARY KEY CHECK (length(id_hash) = 32),
    staff_id        text NOT NULL REFERENCES staff (staff_id) ON DELETE CASCADE,
    -- The role the session was started with: a different role in the directory ends it.
    role            text NOT NULL,
    -- How the member of staff signed in: `oidc`, or `development` (the demo sign-in).
    method          text NOT NULL,
    started_at      timestamptz NOT NULL DEFAULT now(),
    -- Written at most about once a minute while the session is in use, not on every request.
    seen_at         timestamptz NOT NULL DEFAULT now(),
    ended_at        timestamptz,
    ended_reason    text CHECK (ended_reason IN ('signed_out', 'idle', 'lifetime',
                                                 'deactivated', 'role_changed', 'replaced')),
    CHECK ((ended_at IS NULL) = (ended_reason IS NULL))
);
-- Ending every session of a member of staff the directory no longer lets in.
CREATE INDEX console_sessions_staff_idx ON console_sessions (staff_id) WHERE ended_at IS NULL;
-- Pruning the sessions past their lifetime.
CREATE INDEX console_sessions_started_idx ON console_sessions (started_at);
