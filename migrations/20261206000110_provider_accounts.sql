-- Provider accounts (SPEC §12): a Seam connected account, or the one Nuki
-- account behind NUKI_API_TOKEN, and whether it works. One row per
-- account, shared by every instance: a state change is told once.
CREATE TABLE provider_accounts (
    provider   text        NOT NULL,
    -- Seam's connected_account_id; 'api_token' for Nuki.
    account_id text        NOT NULL,
    state      text        NOT NULL
        CONSTRAINT provider_accounts_state_check
        CHECK (state IN ('connected', 'disconnected', 'reauthorization_requested', 'refused')),
    -- When it entered this state.
    since      timestamptz NOT NULL,
    -- What the provider said (Seam's event type, Nuki's answer).
    reason     text        NOT NULL DEFAULT '',
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (provider, account_id)
);

-- The account a lock's device belongs to: Seam's connected_account_id as
-- its device reads and discovery report it; every Nuki lock is on the one
-- account of the API token.
ALTER TABLE locks ADD COLUMN provider_account_id text;
ALTER TABLE locks ADD COLUMN account_key text
    GENERATED ALWAYS AS (CASE WHEN provider = 'nuki' THEN 'api_token' ELSE provider_account_id END) STORED;
CREATE INDEX locks_account_idx ON locks (provider, account_key) WHERE account_key IS NOT NULL;

-- A job waiting for something outside it (a provider account to work
-- again): woken by name, its waits do not count as attempts.
ALTER TABLE jobs ADD COLUMN waiting_for text;
CREATE INDEX jobs_waiting_for_idx ON jobs (waiting_for) WHERE waiting_for IS NOT NULL AND state = 'queued';
