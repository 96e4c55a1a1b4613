-- Staff, bookings, and the records people write during a journey. Workflows hold only the ids.

CREATE TABLE staff (
    staff_id    text PRIMARY KEY,
    full_name   text NOT NULL,
    email       text NOT NULL,
    role        text NOT NULL CHECK (role IN ('coordinator', 'reviewer', 'specialist',
                                              'case_manager', 'medical_lead', 'auditor')),
    languages   text[] NOT NULL DEFAULT '{en}',
    time_zone   text NOT NULL DEFAULT 'UTC',
    active      boolean NOT NULL DEFAULT true,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX staff_role_idx ON staff (role) WHERE active;

ALTER TABLE journeys ADD COLUMN case_manager_id text REFERENCES staff (staff_id);
ALTER TABLE journeys ADD COLUMN specialist_id text REFERENCES staff (staff_id);

-- Consultation slots offered to a patient, one set per proposal round.
CREATE TABLE consult_slots (
    slot_id         text PRIMARY KEY,
    journey_id      uuid NOT NULL REFERENCES journeys (journey_id),
    round           integer NOT NULL,
    specialist_id   text NOT NULL REFERENCES staff (staff_id),
    starts_at       timestamptz NOT NULL,
    ends_at         timestamptz NOT NULL
);
CREATE INDEX consult_slots_journey_idx ON consult_slots (journey_id, round);

-- Everything booked for a journey; the saga cancels the active ones in reverse order.
CREATE TABLE bookings (
    booking_id      text PRIMARY KEY,
    journey_id      uuid NOT NULL REFERENCES journeys (journey_id),
    step            text NOT NULL,
    kind            text NOT NULL CHECK (kind IN ('consult', 'clinic_visit', 'hotel', 'transfer')),
    starts_at       timestamptz NOT NULL,
    ends_at         timestamptz NOT NULL,
    slot_id         text REFERENCES consult_slots (slot_id),
    status          text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'cancelled')),
    external_ref    text,
    booked_at       timestamptz NOT NULL DEFAULT now(),
    cancelled_at    timestamptz,
    UNIQUE (journey_id, step)
);

CREATE TABLE documents (
    document_id     uuid PRIMARY KEY,
    journey_id      uuid NOT NULL REFERENCES journeys (journey_id),
    kind            text NOT NULL,
    filename        text NOT NULL,
    content_type    text NOT NULL,
    size_bytes      integer NOT NULL,
    sha256          text NOT NULL,
    content         bytea NOT NULL,
    uploaded_by     text NOT NULL,
    uploaded_at     timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE treatment_plans (
    plan_id         uuid PRIMARY KEY,
    journey_id      uuid NOT NULL REFERENCES journeys (journey_id),
    specialist_id   text NOT NULL,
    cells_target    bigint NOT NULL CHECK (cells_target > 0),
    route           text NOT NULL DEFAULT 'intrathecal',
    price           numeric(12, 2) NOT NULL CHECK (price >= 0),
    currency        char(3) NOT NULL,
    notes           text NOT NULL DEFAULT '',
    created_at      timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE procedure_reports (
    report_id       uuid PRIMARY KEY,
    journey_id      uuid NOT NULL REFERENCES journeys (journey_id),
    cells_given     bigint NOT NULL CHECK (cells_given >= 0),
    route           text NOT NULL,
    minutes         integer NOT NULL CHECK (minutes > 0),
    lot             text NOT NULL,
    notes           text NOT NULL DEFAULT '',
    reported_at     timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE adverse_events (
    event_id        uuid PRIMARY KEY,
    journey_id      uuid NOT NULL REFERENCES journeys (journey_id),
    severity        text NOT NULL CHECK (severity IN ('mild', 'moderate', 'severe', 'life_threatening')),
    description     text NOT NULL,
    reported_at     timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE follow_up_outcomes (
    outcome_id              uuid PRIMARY KEY,
    journey_id              uuid NOT NULL REFERENCES journeys (journey_id),
    consult_no              integer NOT NULL CHECK (consult_no BETWEEN 1 AND 5),
    trunk_control           smallint,
    sitting_balance         smallint,
    standing_balance        smallint,
    spasticity              smallint,
    sensation               smallint,
    bladder                 smallint,
    postural_hypotension    boolean,
    notes                   text NOT NULL DEFAULT '',
    recorded_at             timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE rehab_checkins (
    checkin_id          uuid PRIMARY KEY,
    journey_id          uuid NOT NULL REFERENCES journeys (journey_id),
    week                integer NOT NULL,
    walking_hours_per_day numeric(4, 1) NOT NULL,
    days_per_week       smallint NOT NULL CHECK (days_per_week BETWEEN 0 AND 7),
    notes               text NOT NULL DEFAULT '',
    submitted_at        timestamptz NOT NULL DEFAULT now()
);
