-- Chat channels (SPEC §4, §6, §8): the durable inbox of webhook updates,
-- the outbox (the notification log grows the message it sends), chat
-- identities and Telegram deep links.

-- Every accepted update, stored before the webhook answers 200. The
-- provider's id is unique per channel, so a redelivery is a no-op.
CREATE TABLE inbound_updates (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    channel       text NOT NULL CONSTRAINT inbound_updates_channel_check CHECK (channel IN ('whatsapp', 'telegram', 'console')),
    provider_id   text NOT NULL,
    kind          text NOT NULL,
    payload       jsonb NOT NULL,
    received_at   timestamptz NOT NULL DEFAULT now(),
    processed_at  timestamptz,
    CONSTRAINT inbound_updates_provider_key UNIQUE (channel, provider_id)
);
CREATE INDEX inbound_updates_received_idx ON inbound_updates (received_at);

-- Who writes from where: the WhatsApp 24-hour customer-service window is
-- computed from the last inbound message of an address.
CREATE TABLE chat_contacts (
    channel          text NOT NULL,
    address          text NOT NULL,
    -- WhatsApp's business-scoped user id, Telegram's user id
    user_id          text,
    display_name     text,
    last_inbound_at  timestamptz,
    PRIMARY KEY (channel, address)
);

-- Single-use, expiring tokens of https://t.me/<bot>?start=<token>; only a
-- hash is stored.
CREATE TABLE telegram_link_tokens (
    token_hash  text PRIMARY KEY,
    guest_id    uuid NOT NULL REFERENCES guests (id) ON DELETE CASCADE,
    booking_id  uuid REFERENCES bookings (id) ON DELETE CASCADE,
    expires_at  timestamptz NOT NULL,
    used_at     timestamptz,
    created_at  timestamptz NOT NULL DEFAULT now()
);

-- The outbox: a notification is queued with what it says, sent by a job.
ALTER TABLE notifications
    ADD COLUMN body         text,
    ADD COLUMN template_params jsonb,
    ADD COLUMN language     text NOT NULL DEFAULT 'en',
    ADD COLUMN dedupe_key   text,
    ADD COLUMN sent_at      timestamptz,
    ADD COLUMN sent_as      text;
ALTER TABLE notifications ADD CONSTRAINT notifications_dedupe_key UNIQUE (dedupe_key);
ALTER TABLE notifications ADD CONSTRAINT notifications_channel_check
    CHECK (channel IN ('whatsapp', 'telegram', 'console', 'sms', 'email'));
