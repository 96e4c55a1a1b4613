-- Travel records written by patients, and clinic webhook deliveries (for exactly-once events).

CREATE TABLE travel_records (
    travel_record_id    uuid PRIMARY KEY,
    journey_id          uuid NOT NULL REFERENCES journeys (journey_id),
    arrival_date        date NOT NULL,
    departure_date      date NOT NULL,
    arrival_flight      text NOT NULL DEFAULT '',
    departure_flight    text NOT NULL DEFAULT '',
    companions          smallint NOT NULL DEFAULT 0,
    needs_visa          boolean NOT NULL DEFAULT false,
    notes               text NOT NULL DEFAULT '',
    submitted_by        text NOT NULL,
    submitted_at        timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE clinic_events (
    event_id        uuid PRIMARY KEY,
    journey_id      uuid NOT NULL REFERENCES journeys (journey_id),
    kind            text NOT NULL,
    received_at     timestamptz NOT NULL DEFAULT now()
);
