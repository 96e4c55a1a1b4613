-- Incidents: failures a coordinator resolves. The journey row carries the open one's kind so
-- lists can show and filter it without a join.

CREATE TABLE incidents (
    journey_id      uuid NOT NULL REFERENCES journeys (journey_id),
    workflow        text NOT NULL CHECK (workflow IN ('journey', 'follow-up')),
    number          integer NOT NULL,
    kind            text NOT NULL,
    step            text NOT NULL,
    opened_at       timestamptz NOT NULL,
    resolution      text CHECK (resolution IN ('retry', 'skip', 'withdraw')),
    resolved_by     text,
    resolved_at     timestamptz,
    PRIMARY KEY (journey_id, workflow, number)
);
CREATE INDEX incidents_open_idx ON incidents (kind) WHERE resolved_at IS NULL;

ALTER TABLE journeys ADD COLUMN incident text;
CREATE INDEX journeys_incident_idx ON journeys (incident) WHERE incident IS NOT NULL;
