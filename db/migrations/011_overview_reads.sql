-- The staff console's overview (db/overview.py) reads the last weeks of four tables by date;
-- without these each page view would read every row ever written to them.

-- Stays in a stage ended in the last 90 days (the journeys with a change since then), and
-- the journeys that ended in them.
CREATE INDEX stage_changes_changed_idx ON stage_changes (changed_at);
-- Journeys started per week.
CREATE INDEX journeys_created_idx ON journeys (created_at);
-- Incidents opened per week.
CREATE INDEX incidents_opened_idx ON incidents (opened_at);
-- Missed deadlines per week: the escalation and alert emails among every email sent.
CREATE INDEX outbox_deadline_emails_idx ON outbox (created_at)
    WHERE kind IN ('review_escalation', 'admission_overdue', 'follow_up_due_specialist');
