-- Patient links that can be withdrawn. A link carries the generation of its journey's links it
-- was signed in; a coordinator who revokes them moves the generation on, and a link of an
-- earlier generation is refused from then on. A journey without a row is at generation 0,
-- which is what every link signed before this table existed carries.

CREATE TABLE patient_links (
    journey_id      uuid PRIMARY KEY REFERENCES journeys (journey_id),
    generation      integer NOT NULL CHECK (generation >= 0),
    revoked_at      timestamptz NOT NULL,
    revoked_by      text NOT NULL
);
