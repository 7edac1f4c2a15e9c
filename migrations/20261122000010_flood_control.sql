-- Per-sender flood control: messages counted in a one-minute window per
-- address. Past INBOUND_PER_SENDER_PER_MINUTE a message is stored but not
-- answered, across all instances (the count lives here, not in a process).
ALTER TABLE chat_contacts
    ADD COLUMN window_started_at timestamptz,
    ADD COLUMN window_count integer NOT NULL DEFAULT 0;
