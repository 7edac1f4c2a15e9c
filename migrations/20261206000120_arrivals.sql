-- Ready for every arrival (SPEC §12): wrong codes at the door, no-shows and
-- late arrivals.

-- When a guest whose code has not been used is an alert (local time on the
-- arrival day; NULL: never), and after which local time an arrival is told
-- to staff (NULL: never).
ALTER TABLE properties
    ADD COLUMN no_show_alert_time time DEFAULT '23:00',
    ADD COLUMN late_arrival_alert_after time;

-- The lock event log also keeps refused keypad entries (Seam's
-- `lock.access_denied`, Nuki's "invalid code"), counted per lock.
ALTER TABLE lock_events ADD COLUMN denied boolean NOT NULL DEFAULT false;
CREATE INDEX lock_events_denied_idx ON lock_events (lock_id, occurred_at) WHERE denied;

-- What a burst of wrong codes during an arrival did, once per booking: the
-- code sent again (at the burst's last entry), then a backup code.
CREATE TABLE wrong_code_bursts (
    booking_id      uuid PRIMARY KEY REFERENCES bookings (id) ON DELETE CASCADE,
    lock_id         uuid NOT NULL REFERENCES locks (id) ON DELETE CASCADE,
    burst_at        timestamptz NOT NULL,
    backup_at       timestamptz,
    created_at      timestamptz NOT NULL DEFAULT now()
);
