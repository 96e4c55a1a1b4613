-- Travel changes and partners' confirmations.

-- A change of dates is a travel record too, kept beside the first: `pending` while the journey
-- re-books, then `applied` (the new dates stand) or `failed` (the old ones stand). The dates
-- the journey keeps are those of the newest record that is not a change (NULL) or an applied
-- one.
ALTER TABLE travel_records
    ADD COLUMN change_status text CHECK (change_status IN ('pending', 'applied', 'failed'));

-- What a hotel or transfer partner answered to a request: one confirmation per booking, the
-- unique key making a second one a no-op the API refuses. The reference and the name of who
-- confirmed are the partner's words and stay here; the journey gets the row's id. A partner's
-- link is used once: its token's id is unique here (NULL for a coordinator's entry), and a
-- confirmation the journey refuses is deleted, freeing it.
CREATE TABLE partner_confirmations (
    confirmation_id uuid PRIMARY KEY,
    journey_id      uuid NOT NULL REFERENCES journeys (journey_id),
    booking_id      text NOT NULL UNIQUE REFERENCES bookings (booking_id),
    reference       text NOT NULL,
    confirmed_by    text NOT NULL,
    via             text NOT NULL CHECK (via IN ('console', 'link')),
    token_id        uuid UNIQUE,
    recorded_by     text NOT NULL,
    confirmed_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX partner_confirmations_journey_idx ON partner_confirmations (journey_id);
