-- Patients, their inquiries and consents, journeys, and the idempotency of intake and email.

CREATE TABLE patients (
    patient_id          uuid PRIMARY KEY,
    full_name           text NOT NULL,
    email               text NOT NULL,
    phone               text NOT NULL,
    country             char(2) NOT NULL,
    preferred_language  text NOT NULL,
    time_zone           text,
    created_at          timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE journeys (
    journey_id      uuid PRIMARY KEY,
    patient_id      uuid NOT NULL REFERENCES patients (patient_id),
    stage           text NOT NULL DEFAULT 'INQUIRY',
    waiting_on      text NOT NULL DEFAULT 'none',
    next_deadline   timestamptz,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX journeys_stage_idx ON journeys (stage, waiting_on);

CREATE TABLE inquiries (
    inquiry_id          uuid PRIMARY KEY,
    journey_id          uuid NOT NULL UNIQUE REFERENCES journeys (journey_id),
    patient_id          uuid NOT NULL REFERENCES patients (patient_id),
    injury_level        text NOT NULL,
    injury_completeness text NOT NULL CHECK (injury_completeness IN ('complete', 'incomplete')),
    injury_date         date NOT NULL,
    injury_cause        text NOT NULL,
    medical_history     text NOT NULL DEFAULT '',
    submitted_at        timestamptz NOT NULL DEFAULT now(),
    -- set once by the journey's first activity: the inquiry is in the workflow's hands
    recorded_at         timestamptz
);

CREATE TABLE consents (
    consent_id      uuid PRIMARY KEY,
    patient_id      uuid NOT NULL REFERENCES patients (patient_id),
    journey_id      uuid NOT NULL REFERENCES journeys (journey_id),
    purpose         text NOT NULL,
    text_version    text NOT NULL,
    granted         boolean NOT NULL CHECK (granted),
    granted_at      timestamptz NOT NULL DEFAULT now(),
    source_address  text,
    user_agent      text
);

-- One row per Idempotency-Key: a repeated submission finds its journey here.
CREATE TABLE idempotency_keys (
    idempotency_key text PRIMARY KEY,
    request_hash    text NOT NULL,
    journey_id      uuid NOT NULL REFERENCES journeys (journey_id) DEFERRABLE INITIALLY DEFERRED,
    created_at      timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE stage_changes (
    journey_id      uuid NOT NULL REFERENCES journeys (journey_id),
    seq             integer NOT NULL,
    stage           text NOT NULL,
    waiting_on      text NOT NULL,
    next_deadline   timestamptz,
    actor_id        text NOT NULL,
    actor_role      text NOT NULL,
    changed_at      timestamptz NOT NULL,
    PRIMARY KEY (journey_id, seq)
);

-- Every email a journey sends, keyed by its step: the outbox makes a retried send a no-op.
CREATE TABLE outbox (
    journey_id      uuid NOT NULL,
    step            text NOT NULL,
    kind            text NOT NULL,
    audience        text NOT NULL,
    message_id      text NOT NULL UNIQUE,
    status          text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent')),
    attempts        integer NOT NULL DEFAULT 0,
    created_at      timestamptz NOT NULL DEFAULT now(),
    sent_at         timestamptz,
    PRIMARY KEY (journey_id, step)
);
