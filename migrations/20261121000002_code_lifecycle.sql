-- Code lifecycle (SPEC §3, §6): the durable job queue, the simulated lock
-- provider's device state, and what the providers report is on each lock.

-- When a code was last sent to its provider: an accepted but not yet
-- visible code may still land, so its removal waits a while before it
-- believes the lock never got it.
ALTER TABLE access_codes ADD COLUMN sent_at timestamptz;

-- One guest code per booking and lock while it is live (SPEC §3.4): two
-- confirmations racing cannot both insert one.
CREATE UNIQUE INDEX access_codes_booking_lock_key ON access_codes (booking_id, lock_id)
    WHERE kind = 'guest' AND state NOT IN ('removing', 'removed');

-- The durable job queue. A job is claimed by flipping it to `running` with a
-- lease (FOR UPDATE SKIP LOCKED in a statement of its own, so no row lock is
-- held across a network call); a worker that dies loses its lease and the
-- job is claimed again. Finished jobs are deleted; `dead` ones stay.
CREATE TABLE jobs (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind          text NOT NULL,
    payload       jsonb NOT NULL DEFAULT '{}',
    dedupe_key    text,
    run_at        timestamptz NOT NULL DEFAULT now(),
    state         text NOT NULL DEFAULT 'queued' CONSTRAINT jobs_state_check CHECK (state IN ('queued', 'running', 'dead')),
    attempts      integer NOT NULL DEFAULT 0,
    max_attempts  integer NOT NULL DEFAULT 12 CONSTRAINT jobs_max_attempts_positive CHECK (max_attempts > 0),
    last_error    text,
    locked_by     text,
    locked_until  timestamptz,
    enqueued_at   timestamptz NOT NULL DEFAULT clock_timestamp(),
    updated_at    timestamptz NOT NULL DEFAULT now()
);
-- Dedupe among waiting jobs: a second enqueue with the same key while one
-- waits is merged into it. A running job does not block a new one, so a
-- change made while a job runs is never lost.
CREATE UNIQUE INDEX jobs_dedupe_key ON jobs (dedupe_key) WHERE state = 'queued';
CREATE INDEX jobs_due_idx ON jobs (run_at, id) WHERE state = 'queued';
CREATE INDEX jobs_lease_idx ON jobs (locked_until) WHERE state = 'running';

-- The simulated provider's devices and the codes "on" them. Persisted so the
-- demo, the tests and several instances all see the same lock.
CREATE TABLE simulated_devices (
    device_id         text PRIMARY KEY,
    offline           boolean NOT NULL DEFAULT false,
    -- fail this many next calls with a retryable error (deterministic tests)
    fail_next         integer NOT NULL DEFAULT 0,
    -- fail this share of calls at random (the demo)
    failure_rate      real NOT NULL DEFAULT 0 CHECK (failure_rate BETWEEN 0 AND 1),
    -- a created code becomes visible this long after the request
    confirm_delay_ms  integer NOT NULL DEFAULT 0 CHECK (confirm_delay_ms >= 0),
    battery_percent   integer NOT NULL DEFAULT 87
);

CREATE TABLE simulated_codes (
    provider_ref  text PRIMARY KEY,
    device_id     text NOT NULL,
    name          text NOT NULL,
    code          text NOT NULL,
    valid_from    timestamptz,
    valid_until   timestamptz,
    visible_at    timestamptz NOT NULL DEFAULT now(),
    created_at    timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX simulated_codes_device_code_key ON simulated_codes (device_id, code);

-- What a provider last reported on each lock. Codes doorman does not know as
-- live are orphans: reported, never removed automatically, and their values
-- are never handed out again while they are on the lock (SPEC §3.3, §3.10).
CREATE TABLE device_codes (
    lock_id       uuid NOT NULL REFERENCES locks (id) ON DELETE CASCADE,
    provider_ref  text NOT NULL,
    code          text,
    name          text,
    managed       boolean NOT NULL,
    seen_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (lock_id, provider_ref)
);
CREATE INDEX device_codes_value_idx ON device_codes (lock_id, code) WHERE NOT managed;

CREATE FUNCTION access_codes_not_orphan_value() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM device_codes d
               WHERE d.lock_id = NEW.lock_id AND d.code = NEW.code AND NOT d.managed) THEN
        RAISE EXCEPTION 'code value is taken by a code found on the lock'
            USING ERRCODE = 'unique_violation', CONSTRAINT = 'access_codes_live_value_key';
    END IF;
    RETURN NEW;
END;
$$;
CREATE TRIGGER access_codes_not_orphan_value BEFORE INSERT ON access_codes
    FOR EACH ROW EXECUTE FUNCTION access_codes_not_orphan_value();
