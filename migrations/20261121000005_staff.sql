-- Staff commands (SPEC §5): confirmation prompts for actions on a stay in
-- progress, and further phone numbers linked to a booking's guest.
CREATE TABLE confirmations (
    token_hash  text PRIMARY KEY,
    staff_id    uuid NOT NULL REFERENCES staff (id) ON DELETE CASCADE,
    action      jsonb NOT NULL,
    summary     text NOT NULL,
    expires_at  timestamptz NOT NULL,
    used_at     timestamptz,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX confirmations_staff_idx ON confirmations (staff_id, created_at);

CREATE TABLE guest_phones (
    phone       text PRIMARY KEY,
    guest_id    uuid NOT NULL REFERENCES guests (id) ON DELETE CASCADE,
    booking_id  uuid REFERENCES bookings (id) ON DELETE CASCADE,
    linked_by   text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);
