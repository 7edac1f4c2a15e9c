-- Ready for every arrival (SPEC §12): the battery level under which a lock
-- is not ready for an arrival, and each booking's latest readiness check.
ALTER TABLE properties
    ADD COLUMN battery_alert_percent integer NOT NULL DEFAULT 25
        CHECK (battery_alert_percent BETWEEN 0 AND 100);

CREATE TABLE booking_readiness (
    booking_id   uuid PRIMARY KEY REFERENCES bookings (id) ON DELETE CASCADE,
    -- Hours before check-in of the check that wrote this row (24 or 3).
    lead_hours   integer     NOT NULL,
    checked_at   timestamptz NOT NULL,
    -- [{"lock", "lock_id", "problem", "detail"}]; empty when ready.
    problems     jsonb       NOT NULL DEFAULT '[]'::jsonb,
    -- A failure was told to staff and no pass since: the next pass says so.
    told_failure boolean     NOT NULL DEFAULT false
);
