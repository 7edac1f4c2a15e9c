-- Limits on what a guest can set in motion.

-- What guests write for staff (security review L1): at most one alert per
-- guest and property every ten minutes. Messages arriving in between wait
-- here, the newest few quoted and all counted, and go out as one alert.
CREATE TABLE guest_alerts (
    property_id    uuid NOT NULL REFERENCES properties (id) ON DELETE CASCADE,
    guest_id       uuid NOT NULL REFERENCES guests (id) ON DELETE CASCADE,
    -- the alert lines not sent yet, oldest first
    pending        text[] NOT NULL DEFAULT '{}',
    -- how many messages came in since the last alert (some no longer quoted)
    pending_count  integer NOT NULL DEFAULT 0,
    last_sent_at   timestamptz,
    -- alerts sent so far: names each one for its dedupe key
    sent           integer NOT NULL DEFAULT 0,
    PRIMARY KEY (property_id, guest_id)
);
CREATE INDEX guest_alerts_guest_idx ON guest_alerts (guest_id);

-- Calls to the LLM fallback per property and UTC day (security review M9),
-- capped by LLM_DAILY_LIMIT: past it, messages go to staff instead.
CREATE TABLE llm_usage (
    property_id  uuid NOT NULL REFERENCES properties (id) ON DELETE CASCADE,
    day          date NOT NULL,
    calls        integer NOT NULL,
    PRIMARY KEY (property_id, day)
);
