-- Tamper-evident audit log: who did what to which journey or patient, when and from where.
--
-- Each row carries prev_hash (the previous row's hash; 64 zeros for seq 1) and hash =
-- HMAC-SHA256(server key, prev_hash || canonical JSON of the row's content, seq and at
-- included), computed by audit/log.py. seq is assigned by the appender under an advisory
-- lock, consecutive from 1 without gaps, so the rows form one chain that `journeys audit
-- verify` (audit/verify.py) walks.
--
-- detail holds ids and codes only, never names or clinical text: the log is kept for years
-- and is read by auditors who may not see health data.
--
-- Append-only: the triggers below refuse UPDATE, DELETE and TRUNCATE for every role, the
-- application's own role included, and are ENABLE ALWAYS so that
-- session_replication_role = replica does not silence them either. A role that owns the
-- table (or a superuser) can still run ALTER TABLE audit_log DISABLE TRIGGER, or drop the
-- table: the database alone cannot stop its owner. That is what the hash chain is for:
-- without the HMAC key such a change cannot be re-sealed, and verify reports the first
-- altered, deleted or reordered row.

CREATE TABLE audit_log (
    seq         bigint PRIMARY KEY CHECK (seq >= 1),
    at          timestamptz NOT NULL,
    actor_id    text NOT NULL,
    actor_role  text NOT NULL,
    action      text NOT NULL,
    journey_id  uuid,
    patient_id  uuid,
    source      text,
    detail      jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(detail) = 'object'),
    prev_hash   text NOT NULL CHECK (prev_hash ~ '^[0-9a-f]{64}$'),
    hash        text NOT NULL CHECK (hash ~ '^[0-9a-f]{64}$')
);

-- An auditor's usual questions: everything that touched this journey, or this patient.
CREATE INDEX audit_log_journey_idx ON audit_log (journey_id, seq) WHERE journey_id IS NOT NULL;
CREATE INDEX audit_log_patient_idx ON audit_log (patient_id, seq) WHERE patient_id IS NOT NULL;

CREATE FUNCTION audit_log_refuse_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege',
              HINT = 'audit rows are never changed or removed; append a new row instead';
END
$$;

CREATE TRIGGER audit_log_no_update_delete
    BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_refuse_change();

-- Row triggers do not fire on TRUNCATE, which removes every row at once.
CREATE TRIGGER audit_log_no_truncate
    BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_refuse_change();

ALTER TABLE audit_log ENABLE ALWAYS TRIGGER audit_log_no_update_delete;
ALTER TABLE audit_log ENABLE ALWAYS TRIGGER audit_log_no_truncate;
