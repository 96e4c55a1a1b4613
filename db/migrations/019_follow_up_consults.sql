-- Follow-up consultations are offered and booked as the first consultation is: the times
-- offered for follow-up consult n are its rounds, counted apart from the first
-- consultation's (NULL).
ALTER TABLE consult_slots ADD COLUMN follow_up_no smallint CHECK (follow_up_no > 0);
DROP INDEX consult_slots_journey_idx;
CREATE INDEX consult_slots_journey_idx ON consult_slots (journey_id, follow_up_no, round);
