-- A member of staff's work phone, in E.164 (`+34600123456`), as the directory checks it
-- (domain/staff.py); NULL when none is on file. A case manager's is given to their patients to
-- call once the patient's page no longer takes changes of dates.
ALTER TABLE staff ADD COLUMN phone text CHECK (phone ~ '^\+[1-9][0-9]{7,14}$');
