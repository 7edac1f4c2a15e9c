-- A guest with no phone on file claims the stay in chat (SPEC §9): each
-- wrong try is a row, so five a day per sender hold across instances. The
-- sender is stored as a hash of its channel and address, never the number.

CREATE TABLE claim_attempts (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    sender_hash   text NOT NULL,
    attempted_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX claim_attempts_sender_idx ON claim_attempts (sender_hash, attempted_at);
