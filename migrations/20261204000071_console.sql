-- The operator console (SPEC §10): one-time login links and sessions. Both
-- tokens are stored as their SHA-256 only; a database dump opens nothing.
CREATE TABLE console_links (
    token_hash  text PRIMARY KEY,
    staff_id    uuid NOT NULL REFERENCES staff (id) ON DELETE CASCADE,
    expires_at  timestamptz NOT NULL,
    used_at     timestamptz,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX console_links_staff_idx ON console_links (staff_id, created_at);

CREATE TABLE console_sessions (
    token_hash  text PRIMARY KEY,
    staff_id    uuid NOT NULL REFERENCES staff (id) ON DELETE CASCADE,
    expires_at  timestamptz NOT NULL,
    ended_at    timestamptz,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX console_sessions_staff_idx ON console_sessions (staff_id, created_at);

-- Today's board reads a property's stays around now in one query.
CREATE INDEX bookings_property_stay_idx ON bookings (property_id, check_in_at);
