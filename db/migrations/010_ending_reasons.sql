-- Why a journey ended, coded, on its change into a final stage: a rejection's reason
-- (`contraindication`), a withdrawal's (`financial`, `plan_declined`) or a timer's
-- (`no_documents`). The console's overview counts outcomes by it. Journeys that ended before
-- this column have none: their reason is in their histories only.
ALTER TABLE stage_changes ADD COLUMN reason text;
