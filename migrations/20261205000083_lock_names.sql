-- A lock's name in other languages than its own (SPEC §11: every
-- guest-facing text in the guest's language): {"de": "Haustür"}. The
-- name column stays the English one, the fallback.
ALTER TABLE locks
    ADD COLUMN name_translations jsonb NOT NULL DEFAULT '{}'::jsonb;
