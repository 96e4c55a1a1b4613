-- The public form's submissions per client and minute, one count shared by every API replica
-- (api/ratelimit.py, db/rate_limits.py). A client is a keyed tag of its address (the audit
-- log's `addr:` tag), never the address itself. Rows older than the minute before are deleted
-- as the replicas go, so the table holds only the clients of the last two minutes or so.
--
-- Unlogged: a count that matters for two minutes needs neither crash safety nor a copy on a
-- standby, and the form's write skips the write-ahead log. A crash or a failover starts every
-- count again at zero.
CREATE UNLOGGED TABLE form_rate_limits (
    client_key      text NOT NULL,
    window_start    timestamptz NOT NULL,
    hits            integer NOT NULL CHECK (hits > 0),
    PRIMARY KEY (client_key, window_start)
);
