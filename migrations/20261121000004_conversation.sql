-- Guest conversation (SPEC §4): hand-offs to staff pause automatic replies
-- for one chat until staff resolve them (or they expire).
CREATE TABLE handoffs (
    id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    channel      text NOT NULL,
    address      text NOT NULL,
    guest_id     uuid REFERENCES guests (id) ON DELETE CASCADE,
    property_id  uuid REFERENCES properties (id) ON DELETE CASCADE,
    reason       text NOT NULL,
    opened_at    timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz NOT NULL,
    resolved_at  timestamptz,
    resolved_by  text
);
CREATE UNIQUE INDEX handoffs_open_key ON handoffs (channel, address) WHERE resolved_at IS NULL;
