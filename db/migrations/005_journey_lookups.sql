-- Emails and the documents list look these tables up by journey; without
-- an index each lookup reads the whole table, which grows with every journey ever served.
CREATE INDEX treatment_plans_journey_idx ON treatment_plans (journey_id, created_at);
CREATE INDEX travel_records_journey_idx ON travel_records (journey_id, submitted_at);
CREATE INDEX documents_journey_idx ON documents (journey_id, uploaded_at);
