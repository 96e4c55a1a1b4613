-- The staff directory the console's staff administrators keep (db/staff_directory.py): a role
-- of their own, the provider's subject apart from the staff id, each specialist's working hours
-- and consultation length, the calendar to read, and each deactivation with the email it sent.

ALTER TABLE staff DROP CONSTRAINT staff_role_check;
ALTER TABLE staff ADD CONSTRAINT staff_role_check
    CHECK (role IN ('coordinator', 'reviewer', 'specialist', 'case_manager', 'medical_lead',
                    'auditor', 'privacy_officer', 'staff_admin'));

-- The `sub` the OpenID Connect provider signs a member in with. The staff id stays what the
-- journeys' histories, bookings and the audit log name; the subject can be linked anew (a new
-- account at the provider, another provider). Every member until now signed in with their
-- staff id as the subject.
ALTER TABLE staff ADD COLUMN oidc_subject text;
UPDATE staff SET oidc_subject = staff_id;
CREATE UNIQUE INDEX staff_oidc_subject_idx ON staff (oidc_subject);

-- The specialist's CalDAV calendar; NULL is `consults-<staff id>` on the calendar server.
ALTER TABLE staff ADD COLUMN calendar_url text;
-- How long a specialist's consultation takes; NULL for other roles.
ALTER TABLE staff ADD COLUMN consult_minutes smallint CHECK (consult_minutes BETWEEN 10 AND 240);
ALTER TABLE staff ADD COLUMN updated_at timestamptz NOT NULL DEFAULT now();
ALTER TABLE staff ADD COLUMN deactivated_at timestamptz;

-- When a specialist takes consultations: intervals of a weekday (0 is Monday) on the wall
-- clock of their own time zone.
CREATE TABLE staff_working_hours (
    staff_id    text NOT NULL REFERENCES staff (staff_id) ON DELETE CASCADE,
    weekday     smallint NOT NULL CHECK (weekday BETWEEN 0 AND 6),
    starts      time NOT NULL,
    ends        time NOT NULL,
    CHECK (starts < ends),
    PRIMARY KEY (staff_id, weekday, starts)
);

-- The specialists until now were offered at 09:00, 11:00 and 15:00 on weekdays, for 30
-- minutes: they keep exactly that until an administrator gives them their own hours.
UPDATE staff SET consult_minutes = 30 WHERE role = 'specialist';
INSERT INTO staff_working_hours (staff_id, weekday, starts, ends)
SELECT s.staff_id, d.weekday, h.starts, h.starts + interval '30 minutes'
  FROM staff s
 CROSS JOIN generate_series(0, 4) AS d (weekday)
 CROSS JOIN (VALUES (time '09:00'), (time '11:00'), (time '15:00')) AS h (starts)
 WHERE s.role = 'specialist';

-- A member of staff made inactive, the open journeys they left to be reassigned, and the
-- coordinators' email about them (its Message-ID, and whether it left).
CREATE TABLE staff_deactivations (
    deactivation_id bigserial PRIMARY KEY,
    staff_id        text NOT NULL REFERENCES staff (staff_id),
    role            text NOT NULL,
    journeys        uuid[] NOT NULL,
    deactivated_by  text NOT NULL,
    deactivated_at  timestamptz NOT NULL DEFAULT now(),
    message_id      text NOT NULL UNIQUE,
    sent_at         timestamptz
);
CREATE INDEX staff_deactivations_staff_idx ON staff_deactivations (staff_id);
