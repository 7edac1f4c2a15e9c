-- Channel managers (SPEC §9): an integration is a property's account at
-- Smoobu, Beds24 or Hostaway, with the URL token its webhooks carry and the
-- map of their unit ids to doorman's room names. A webhook is a trigger:
-- stored once, then the reservation is read back from their API.

CREATE TABLE integrations (
    id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    kind         text NOT NULL CONSTRAINT integrations_kind_check CHECK (kind IN ('smoobu', 'beds24', 'hostaway')),
    property_id  uuid NOT NULL REFERENCES properties (id) ON DELETE CASCADE,
    -- what their API needs (API key, token, account id); never logged
    credentials  jsonb NOT NULL,
    -- SHA-256 (hex) of the token in the webhook URL; the token itself is shown once
    token_hash   text NOT NULL CONSTRAINT integrations_token_hash_key UNIQUE,
    -- {"<their unit id>": "<room name>", ...}
    rooms        jsonb NOT NULL DEFAULT '{}' CONSTRAINT integrations_rooms_object CHECK (jsonb_typeof(rooms) = 'object'),
    created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX integrations_property_idx ON integrations (property_id);

-- Every delivery once: a redelivered body has the same key.
CREATE TABLE integration_webhooks (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    integration_id  uuid NOT NULL REFERENCES integrations (id) ON DELETE CASCADE,
    -- SHA-256 (hex) of the body as received
    delivery_key    text NOT NULL,
    -- their reservation id, when the body names one
    reservation_id  text,
    body            jsonb NOT NULL,
    received_at     timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT integration_webhooks_delivery_key UNIQUE (integration_id, delivery_key)
);
