-- Privacy: consent texts and their withdrawal, erasure requests and their tombstones, legal
-- holds, and the privacy officer's role.

-- Every consent text the form has shown, word for word, per version and language. A consent
-- row points at the text its patient saw; the hash lets anyone check a copy of the text
-- against what was consented to. Texts are never changed or removed: a new wording is a new
-- version.
CREATE TABLE consent_texts (
    purpose         text NOT NULL,
    version         text NOT NULL,
    language        text NOT NULL,
    body            text NOT NULL,
    sha256          text NOT NULL
                    CHECK (sha256 = encode(sha256(convert_to(body, 'UTF8')), 'hex')),
    published_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (purpose, version, language)
);

CREATE FUNCTION consent_texts_refuse_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'consent_texts is append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege',
              HINT = 'a changed wording is a new version; add it as a new row';
END
$$;

CREATE TRIGGER consent_texts_no_update_delete
    BEFORE UPDATE OR DELETE ON consent_texts
    FOR EACH ROW EXECUTE FUNCTION consent_texts_refuse_change();

-- The form's text of version 2026-01 (api/templates/form.html, through the catalogues), as a
-- patient read it in English or in Spanish.
INSERT INTO consent_texts (purpose, version, language, body, sha256, published_at)
SELECT purpose, version, language, body, encode(sha256(convert_to(body, 'UTF8')), 'hex'),
       '2026-01-01T00:00:00Z'
  FROM (VALUES
    ('health_data_processing', '2026-01', 'en',
     'I consent to the processing of my health data to assess my eligibility and organise my '
     'treatment, as described in the privacy notice (version 2026-01).'),
    ('health_data_processing', '2026-01', 'es',
     'Doy mi consentimiento para el tratamiento de mis datos de salud con el fin de valorar si '
     'puedo recibir el tratamiento y organizarlo, tal como se describe en el aviso de '
     'privacidad (versión 2026-01).')
  ) AS t (purpose, version, language, body);

-- The language of the text the patient saw. Consents recorded before this migration did not
-- keep it (NULL: not recorded); every new one must, and must name a stored text.
ALTER TABLE consents ADD COLUMN text_language text;
ALTER TABLE consents ADD CONSTRAINT consents_text_fkey
    FOREIGN KEY (purpose, text_version, text_language)
    REFERENCES consent_texts (purpose, version, language);
ALTER TABLE consents ADD CONSTRAINT consents_text_language_recorded
    CHECK (text_language IS NOT NULL) NOT VALID;

-- Withdrawal (GDPR Art. 7(3)): when, and by whom (the patient, or a coordinator for them).
ALTER TABLE consents ADD COLUMN withdrawn_at timestamptz;
ALTER TABLE consents ADD COLUMN withdrawn_by text;
ALTER TABLE consents ADD COLUMN withdrawn_role text;
ALTER TABLE consents ADD CONSTRAINT consents_withdrawal_whole
    CHECK (num_nulls(withdrawn_at, withdrawn_by, withdrawn_role) IN (0, 3));
CREATE INDEX consents_journey_idx ON consents (journey_id);

-- The privacy officer answers access requests, places legal holds and carries out erasures.
ALTER TABLE staff DROP CONSTRAINT staff_role_check;
ALTER TABLE staff ADD CONSTRAINT staff_role_check
    CHECK (role IN ('coordinator', 'reviewer', 'specialist', 'case_manager', 'medical_lead',
                    'auditor', 'privacy_officer'));

-- An erased inquiry keeps its ids and dates of submission, and none of the injury it
-- described: the four facts go together.
ALTER TABLE inquiries ALTER COLUMN injury_level DROP NOT NULL;
ALTER TABLE inquiries ALTER COLUMN injury_completeness DROP NOT NULL;
ALTER TABLE inquiries ALTER COLUMN injury_date DROP NOT NULL;
ALTER TABLE inquiries ALTER COLUMN injury_cause DROP NOT NULL;
ALTER TABLE inquiries ADD CONSTRAINT inquiries_injury_whole
    CHECK (num_nulls(injury_level, injury_completeness, injury_date, injury_cause) IN (0, 4));

-- Asking for an erasure, and carrying it out, are two people's acts: a coordinator (or the
-- privacy officer) asks, with the reason; a privacy officer executes. The reason is free text
-- written by staff for the record, and stays out of workflow histories.
CREATE TABLE erasure_requests (
    request_id      uuid PRIMARY KEY,
    journey_id      uuid NOT NULL REFERENCES journeys (journey_id),
    reason          text NOT NULL CHECK (length(reason) BETWEEN 1 AND 500),
    requested_by    text NOT NULL,
    requested_role  text NOT NULL,
    requested_at    timestamptz NOT NULL DEFAULT now(),
    executed_at     timestamptz,
    executed_by     text
);
CREATE INDEX erasure_requests_open_idx ON erasure_requests (journey_id) WHERE executed_at IS NULL;

-- One row per erased journey: what remains of it says when, by whom and why it was erased.
CREATE TABLE erasures (
    journey_id      uuid PRIMARY KEY REFERENCES journeys (journey_id),
    request_id      uuid REFERENCES erasure_requests (request_id),
    trigger         text NOT NULL CHECK (trigger IN ('request', 'retention')),
    reason          text NOT NULL,
    requested_by    text,
    erased_by       text NOT NULL,
    erased_role     text NOT NULL,
    erased_at       timestamptz NOT NULL DEFAULT now(),
    changed         jsonb NOT NULL DEFAULT '{}'
);

-- A legal hold keeps a journey's records from erasure (litigation, a regulator's inquiry, a
-- pharmacovigilance duty) until a privacy officer lifts it. One open hold per journey.
CREATE TABLE legal_holds (
    hold_id         uuid PRIMARY KEY,
    journey_id      uuid NOT NULL REFERENCES journeys (journey_id),
    reason          text NOT NULL CHECK (length(reason) BETWEEN 1 AND 500),
    placed_by       text NOT NULL,
    placed_at       timestamptz NOT NULL DEFAULT now(),
    lifted_by       text,
    lifted_at       timestamptz,
    lift_reason     text,
    CHECK (num_nulls(lifted_by, lifted_at, lift_reason) IN (0, 3))
);
CREATE UNIQUE INDEX legal_holds_open_idx ON legal_holds (journey_id) WHERE lifted_at IS NULL;
