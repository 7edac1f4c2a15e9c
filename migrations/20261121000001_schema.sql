-- doorman's domain (SPEC §2). Every instant is timestamptz (UTC); local times
-- are computed from the property's IANA timezone. Constraint names are part
-- of the code: src/access/error.rs maps them onto domain errors.

CREATE TABLE properties (
    id                     uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    name                   text NOT NULL CONSTRAINT properties_name_not_blank CHECK (btrim(name) <> ''),
    timezone               text NOT NULL,
    address                text NOT NULL DEFAULT '',
    check_in_time          time NOT NULL DEFAULT '15:00',
    check_out_time         time NOT NULL DEFAULT '11:00',
    code_release_hours     integer NOT NULL DEFAULT 24
        CONSTRAINT properties_code_release_hours_range CHECK (code_release_hours BETWEEN 0 AND 720),
    requires_verification  boolean NOT NULL DEFAULT false,
    -- knowledge base the guest conversation answers from
    entry_instructions     text,
    wifi_name              text,
    wifi_password          text,
    parking                text,
    directions             text,
    checkout_instructions  text,
    house_rules            text,
    created_at             timestamptz NOT NULL DEFAULT now(),
    updated_at             timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE rooms (
    id                  uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    property_id         uuid NOT NULL REFERENCES properties (id) ON DELETE CASCADE,
    name                text NOT NULL,
    entry_instructions  text,
    created_at          timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT rooms_property_name_key UNIQUE (property_id, name),
    -- lets locks and bookings require that their room is in their property
    CONSTRAINT rooms_id_property_key UNIQUE (id, property_id)
);

CREATE TABLE locks (
    id                  uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    property_id         uuid NOT NULL REFERENCES properties (id) ON DELETE CASCADE,
    -- NULL: a property-wide entrance shared by every room
    room_id             uuid,
    name                text NOT NULL CONSTRAINT locks_name_not_blank CHECK (btrim(name) <> ''),
    brand               text NOT NULL DEFAULT '',
    model               text NOT NULL DEFAULT '',
    kind                text NOT NULL CONSTRAINT locks_kind_check CHECK (kind IN ('pin_pad', 'smart_lock', 'key_card')),
    provider            text NOT NULL CONSTRAINT locks_provider_check CHECK (provider IN ('simulated', 'nuki', 'seam')),
    provider_device_id  text NOT NULL,
    code_format         text NOT NULL CONSTRAINT locks_code_format_check CHECK (code_format IN ('numeric', 'alphanumeric')),
    code_length         integer NOT NULL CONSTRAINT locks_code_length_range CHECK (code_length BETWEEN 4 AND 10),
    capacity            integer NOT NULL CONSTRAINT locks_capacity_positive CHECK (capacity > 0),
    status              text NOT NULL DEFAULT 'active' CONSTRAINT locks_status_check CHECK (status IN ('active', 'inactive')),
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT locks_room_in_property_fkey FOREIGN KEY (room_id, property_id)
        REFERENCES rooms (id, property_id) ON DELETE CASCADE,
    CONSTRAINT locks_provider_device_key UNIQUE (provider, provider_device_id)
);
CREATE INDEX locks_property_idx ON locks (property_id);
CREATE INDEX locks_room_idx ON locks (room_id);

CREATE TABLE guests (
    id                uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    name              text NOT NULL,
    -- E.164, parsed at the edge; one guest per phone number
    phone             text CONSTRAINT guests_phone_key UNIQUE,
    email             text,
    language          text NOT NULL DEFAULT 'en',
    telegram_chat_id  bigint CONSTRAINT guests_telegram_chat_key UNIQUE,
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE bookings (
    id             uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    external_ref   text NOT NULL CONSTRAINT bookings_external_ref_key UNIQUE,
    property_id    uuid NOT NULL REFERENCES properties (id) ON DELETE CASCADE,
    room_id        uuid NOT NULL,
    guest_id       uuid NOT NULL REFERENCES guests (id),
    check_in_at    timestamptz NOT NULL,
    check_out_at   timestamptz NOT NULL,
    status         text NOT NULL CONSTRAINT bookings_status_check CHECK (status IN ('pending', 'confirmed', 'cancelled')),
    verified       boolean NOT NULL DEFAULT false,
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT bookings_stay_order CHECK (check_out_at > check_in_at),
    CONSTRAINT bookings_room_in_property_fkey FOREIGN KEY (room_id, property_id)
        REFERENCES rooms (id, property_id) ON DELETE CASCADE
);
CREATE INDEX bookings_room_stay_idx ON bookings (room_id, check_in_at);
CREATE INDEX bookings_guest_idx ON bookings (guest_id);

CREATE TABLE staff (
    id                uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    name              text NOT NULL CONSTRAINT staff_name_not_blank CHECK (btrim(name) <> ''),
    phone             text CONSTRAINT staff_phone_key UNIQUE,
    telegram_user_id  bigint CONSTRAINT staff_telegram_user_key UNIQUE,
    role              text NOT NULL CONSTRAINT staff_role_check CHECK (role IN ('admin', 'manager', 'staff')),
    active            boolean NOT NULL DEFAULT true,
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT staff_reachable CHECK (phone IS NOT NULL OR telegram_user_id IS NOT NULL)
);

CREATE TABLE staff_properties (
    staff_id     uuid NOT NULL REFERENCES staff (id) ON DELETE CASCADE,
    property_id  uuid NOT NULL REFERENCES properties (id) ON DELETE CASCADE,
    PRIMARY KEY (staff_id, property_id)
);
CREATE INDEX staff_properties_property_idx ON staff_properties (property_id);

CREATE TABLE access_codes (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    lock_id         uuid NOT NULL REFERENCES locks (id) ON DELETE CASCADE,
    code            text NOT NULL,
    kind            text NOT NULL CONSTRAINT access_codes_kind_check CHECK (kind IN ('guest', 'staff', 'master', 'standalone')),
    booking_id      uuid REFERENCES bookings (id) ON DELETE SET NULL,
    staff_id        uuid REFERENCES staff (id) ON DELETE SET NULL,
    label           text,
    valid_from      timestamptz NOT NULL,
    -- NULL: persistent (staff codes)
    valid_until     timestamptz,
    state           text NOT NULL DEFAULT 'pending'
        CONSTRAINT access_codes_state_check CHECK (state IN ('pending', 'programming', 'set', 'failed', 'removing', 'removed')),
    provider_ref    text,
    last_error      text,
    created_by      text NOT NULL,
    revoked_by      text,
    revoke_reason   text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    set_at          timestamptz,
    revoked_at      timestamptz,
    removed_at      timestamptz,
    CONSTRAINT access_codes_window_order CHECK (valid_until IS NULL OR valid_until > valid_from),
    CONSTRAINT access_codes_guest_has_booking CHECK (kind <> 'guest' OR booking_id IS NOT NULL)
);
-- SPEC §3.3: no two live codes on one lock share a value.
CREATE UNIQUE INDEX access_codes_live_value_key ON access_codes (lock_id, code) WHERE state <> 'removed';
CREATE INDEX access_codes_booking_idx ON access_codes (booking_id);
CREATE INDEX access_codes_lock_state_idx ON access_codes (lock_id, state);

-- Append-only: every code creation, programming, delivery, reveal,
-- revocation, expiry and failure, with its actor.
CREATE TABLE audit_events (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    occurred_at  timestamptz NOT NULL DEFAULT now(),
    actor        text NOT NULL,
    action       text NOT NULL,
    property_id  uuid,
    lock_id      uuid,
    code_id      uuid,
    booking_id   uuid,
    details      jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_events_booking_idx ON audit_events (booking_id, id);
CREATE INDEX audit_events_lock_idx ON audit_events (lock_id, id);

CREATE FUNCTION audit_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_events is append-only' USING ERRCODE = 'insufficient_privilege';
END;
$$;
CREATE TRIGGER audit_events_no_update BEFORE UPDATE OR DELETE ON audit_events
    FOR EACH ROW EXECUTE FUNCTION audit_events_append_only();

CREATE TABLE notifications (
    id                   uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    booking_id           uuid REFERENCES bookings (id) ON DELETE SET NULL,
    channel              text NOT NULL,
    recipient            text NOT NULL,
    template             text NOT NULL,
    provider_message_id  text,
    status               text NOT NULL DEFAULT 'queued'
        CONSTRAINT notifications_status_check CHECK (status IN ('queued', 'sent', 'delivered', 'read', 'failed')),
    error                text,
    created_at           timestamptz NOT NULL DEFAULT now(),
    updated_at           timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX notifications_booking_idx ON notifications (booking_id, created_at);
CREATE UNIQUE INDEX notifications_provider_message_key ON notifications (channel, provider_message_id)
    WHERE provider_message_id IS NOT NULL;
