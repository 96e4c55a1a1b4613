-- The staff console's worklist and case page, and the JSON API's list (bench/RESULTS.md,
-- section 7, measures them at 1,000 and 10,000 journeys).

-- The reviewers' question, "waiting on a reviewer past the deadline", and any list filtered
-- on whom a journey waits: a range of one wait's deadlines instead of every journey.
CREATE INDEX journeys_waiting_deadline_idx ON journeys (waiting_on, next_deadline);
-- A case manager's journeys (their worklist, and the case manager filter).
CREATE INDEX journeys_case_manager_idx ON journeys (case_manager_id) WHERE case_manager_id IS NOT NULL;
-- The country filter's choices, read by a skip scan (db/worklist.py), and the filter itself.
CREATE INDEX patients_country_idx ON patients (country);

-- The case page reads these by journey, as migration 005's tables are read; without an
-- index each read would scan a table that grows with every journey ever treated.
CREATE INDEX procedure_reports_journey_idx ON procedure_reports (journey_id, reported_at);
CREATE INDEX adverse_events_journey_idx ON adverse_events (journey_id, reported_at);
CREATE INDEX follow_up_outcomes_journey_idx ON follow_up_outcomes (journey_id, consult_no);
CREATE INDEX rehab_checkins_journey_idx ON rehab_checkins (journey_id, week);
