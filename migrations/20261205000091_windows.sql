-- Access windows that follow real stays (SPEC §11): buffers that widen the
-- window on the lock (never the times told to the guest), and the gap a
-- moved stay keeps from its neighbours for the turnover.
ALTER TABLE properties
    ADD COLUMN code_valid_before_minutes integer NOT NULL DEFAULT 0
        CONSTRAINT properties_code_valid_before_range CHECK (code_valid_before_minutes BETWEEN 0 AND 1440),
    ADD COLUMN code_valid_after_minutes integer NOT NULL DEFAULT 0
        CONSTRAINT properties_code_valid_after_range CHECK (code_valid_after_minutes BETWEEN 0 AND 1440),
    ADD COLUMN turnover_minutes integer NOT NULL DEFAULT 120
        CONSTRAINT properties_turnover_minutes_range CHECK (turnover_minutes BETWEEN 0 AND 1440);
