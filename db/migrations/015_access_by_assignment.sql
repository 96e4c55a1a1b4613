-- Access by assignment (domain/readers.py, SCOPES): a case manager reaches the journeys
-- assigned to them, a specialist those booked with them, a reviewer every case in VALIDATION
-- and after it the cases they decided. Lists filter on these columns in SQL
-- (db/journey_queries.py), so each needs an index that a list of one person's journeys reads.

-- The reviewer who decided the case (approved, rejected, or asked for documents), recorded
-- with the stage change that follows the decision (db/journeys.py). The staff id the decision
-- carries, not a reference to `staff`: an API token from the organisation's provider needs no
-- record in the staff directory, and a stage change must be recorded whatever the directory
-- holds.
ALTER TABLE journeys ADD COLUMN reviewer_id text;

-- Journeys decided before this column: the stage change a reviewer's decision made carries
-- them as its actor (an approval, a request for documents). A rejection ended the journey as
-- the system, so those cases keep no reviewer, and coordinators and the medical lead reach
-- them as before.
UPDATE journeys j
   SET reviewer_id = decided.actor_id
  FROM (SELECT DISTINCT ON (journey_id) journey_id, actor_id
          FROM stage_changes
         WHERE actor_role IN ('reviewer', 'medical_lead')
         ORDER BY journey_id, seq DESC) AS decided
 WHERE j.journey_id = decided.journey_id;

-- A specialist's journeys, and a reviewer's decided cases (the cases in VALIDATION are read
-- through journeys_stage_idx).
CREATE INDEX journeys_specialist_idx ON journeys (specialist_id) WHERE specialist_id IS NOT NULL;
CREATE INDEX journeys_reviewer_idx ON journeys (reviewer_id) WHERE reviewer_id IS NOT NULL;
