-- A clinic event the journey refused keeps its claim on its id, with the refusal as the API
-- answered it (api/routes/webhooks.py): the same event sent again, whether by the clinic or by
-- anyone who captured its signed request within the signature's window, gets the same answer
-- and changes nothing. The clinic sends a corrected or later event under a new id. NULL: the
-- event was taken, or is on its way to its journey.
ALTER TABLE clinic_events ADD COLUMN refusal jsonb;
