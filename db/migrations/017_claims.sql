-- Claims (api/claims.py, db/claims.py): a member of staff says they have a piece of work on a
-- journey, so that the others see who has it and do not take it at the same time: a reviewer
-- a case in VALIDATION for its review, a coordinator an open incident for its resolution. Not
-- workflow state: the API and the console read them before they send the step, and the
-- journey's history never sees them.
--
-- A claim is live while it has not ended, has had an action within the lapse
-- (JOURNEYS_CLAIM_LAPSE_MINUTES, counted from `active_at`), what it claims is still open (the
-- case in VALIDATION, the incident that was open when it was claimed), and its holder is still
-- active in the role they claimed in. Liveness is computed as the claims are read; the row is
-- ended, and its end audited, by the next change to the journey's claims or the API's sweep.

CREATE TABLE claims (
    claim_id          uuid PRIMARY KEY,
    journey_id        uuid NOT NULL REFERENCES journeys (journey_id),
    kind              text NOT NULL CHECK (kind IN ('review', 'incident')),
    -- Staff ids as the session or the token gives them, not references to `staff`: an API
    -- token from the organisation's provider needs no record in the staff directory.
    holder_id         text NOT NULL,
    holder_role       text NOT NULL,
    claimed_at        timestamptz NOT NULL DEFAULT now(),
    -- The claim's last action (its making, or its holder keeping it); the lapse counts from here.
    active_at         timestamptz NOT NULL DEFAULT now(),
    -- The incident an incident claim is for, as it was open when claimed: the claim ends with
    -- that incident, and does not pass to the next one the journey opens.
    incident_workflow text,
    incident_number   integer,
    -- Whose claim this one took over (the medical lead taking over a reviewer's).
    taken_over_from   text,
    ended_at          timestamptz,
    ended_by          text,
    -- `settled`: the case left validation, or the incident closed, without the holder's step;
    -- `holder_left`: the staff directory made the holder inactive or gave them another role.
    end_reason        text CHECK (end_reason IN
                         ('released', 'lapsed', 'taken_over', 'step_taken', 'settled',
                          'holder_left')),
    CHECK ((ended_at IS NULL) = (end_reason IS NULL)),
    CHECK ((kind = 'incident') = (incident_number IS NOT NULL AND incident_workflow IS NOT NULL))
);

-- One open claim of each kind on a journey: two people claiming at once cannot both win.
CREATE UNIQUE INDEX claims_open_idx ON claims (journey_id, kind) WHERE ended_at IS NULL;
