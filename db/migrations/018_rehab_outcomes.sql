-- Follow-up outcomes on the scales clinicians use for spinal cord injury
-- (domain/outcome_scales.py), beside the 0 to 10 scores stored before them; and the
-- rehabilitation follow-ups a case manager is asked for and closes (domain/rehab.py). The
-- ranges are the step body's too; checked here as well, so that no row holds a score off its
-- scale whichever way it was written.

ALTER TABLE follow_up_outcomes
    ADD COLUMN ais_grade text CHECK (ais_grade IN ('A', 'B', 'C', 'D', 'E')),
    ADD COLUMN neurological_level text
        CHECK (neurological_level ~ '^(C[1-8]|T([1-9]|1[0-2])|L[1-5]|S[1-3]|S4-5|INT)$'),
    ADD COLUMN uems smallint CHECK (uems BETWEEN 0 AND 50),
    ADD COLUMN lems smallint CHECK (lems BETWEEN 0 AND 50),
    ADD COLUMN light_touch smallint CHECK (light_touch BETWEEN 0 AND 112),
    ADD COLUMN pin_prick smallint CHECK (pin_prick BETWEEN 0 AND 112),
    ADD COLUMN scim_total smallint CHECK (scim_total BETWEEN 0 AND 100),
    ADD COLUMN recorded_by text;

-- A patient's rehabilitation put before their case manager, as the follow-up year opened and
-- closed it: coded, with week numbers (the hours and days stay in rehab_checkins).
CREATE TABLE rehab_follow_ups (
    journey_id      uuid NOT NULL REFERENCES journeys (journey_id),
    number          integer NOT NULL CHECK (number > 0),
    reason          text NOT NULL CHECK (reason IN ('short_weeks', 'missed_checkin')),
    weeks           integer[] NOT NULL,
    opened_at       timestamptz NOT NULL,
    due_at          timestamptz NOT NULL,
    closed_at       timestamptz,
    closed_by       text,
    record_id       uuid,
    PRIMARY KEY (journey_id, number)
);

-- What the case manager agreed with the patient: the step's record, stored before the step.
CREATE TABLE rehab_follow_up_notes (
    record_id       uuid PRIMARY KEY,
    journey_id      uuid NOT NULL REFERENCES journeys (journey_id),
    follow_up_no    integer NOT NULL CHECK (follow_up_no > 0),
    outcome         text NOT NULL CHECK (outcome IN ('plan_adjusted', 'obstacle_solved',
                                                     'medical_review', 'back_on_plan',
                                                     'not_reached')),
    note            text NOT NULL,
    recorded_by     text NOT NULL,
    recorded_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX rehab_follow_up_notes_journey_idx ON rehab_follow_up_notes (journey_id, follow_up_no);
