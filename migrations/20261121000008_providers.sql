-- Real lock providers (issue 7): what each device last reported about
-- itself, a pool of backup codes, reconciliation, and which code opened the
-- door.

-- The device as the provider last reported it (the `CheckLocks` job).
ALTER TABLE locks
    ADD COLUMN device_online       boolean,
    ADD COLUMN battery_percent     integer,
    ADD COLUMN battery_low         boolean,
    ADD COLUMN keypad_battery_low  boolean,
    ADD COLUMN status_checked_at   timestamptz,
    -- what codes the device accepts (Seam's code_constraints, ...), as JSON
    ADD COLUMN device_constraints  jsonb,
    -- how many backup codes doorman keeps programmed on the lock (SPEC §3.8)
    ADD COLUMN backup_codes        integer NOT NULL DEFAULT 0
        CONSTRAINT locks_backup_codes_range CHECK (backup_codes BETWEEN 0 AND 10),
    ADD COLUMN reconciled_at       timestamptz,
    -- usage events are read from here on
    ADD COLUMN activity_seen_until timestamptz;

-- A backup code waits on the lock, shown to nobody, until a guest whose own
-- code did not get on the lock in time needs it; it then becomes that
-- guest's code.
ALTER TABLE access_codes DROP CONSTRAINT access_codes_kind_check;
ALTER TABLE access_codes ADD CONSTRAINT access_codes_kind_check
    CHECK (kind IN ('guest', 'staff', 'master', 'standalone', 'backup'));
CREATE INDEX access_codes_backup_idx ON access_codes (lock_id) WHERE kind = 'backup' AND state = 'set';

-- The first time a guest's code opened a door.
ALTER TABLE bookings ADD COLUMN arrived_at timestamptz;

-- Unlocks with a code, as the providers report them; one row per provider
-- event, so a report read twice (poll and webhook) counts once.
CREATE TABLE lock_events (
    lock_id      uuid NOT NULL REFERENCES locks (id) ON DELETE CASCADE,
    event_id     text NOT NULL,
    code_id      uuid REFERENCES access_codes (id) ON DELETE SET NULL,
    provider_ref text,
    occurred_at  timestamptz NOT NULL,
    recorded_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (lock_id, event_id)
);
CREATE INDEX lock_events_code_idx ON lock_events (code_id);
