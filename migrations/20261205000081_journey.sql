-- The guest's journey (SPEC §11): message rules per property, the messages
-- they schedule for each booking, quiet hours, and texts per language.

-- NULL: no quiet hours. `HH:MM-HH:MM` in the property's timezone; a window
-- across midnight (the default) ends the next morning.
ALTER TABLE properties
    ADD COLUMN quiet_hours text DEFAULT '21:00-08:00'
        CONSTRAINT properties_quiet_hours_format
        CHECK (quiet_hours ~ '^([01][0-9]|2[0-3]):[0-5][0-9]-([01][0-9]|2[0-3]):[0-5][0-9]$'),
    -- false: the property uses the default rules (computed, never stored),
    -- until its rules are saved once.
    ADD COLUMN message_rules_saved boolean NOT NULL DEFAULT false,
    -- Texts of the knowledge base in other languages than the column's:
    -- {"entry_instructions": {"de": "…"}}.
    ADD COLUMN knowledge_translations jsonb NOT NULL DEFAULT '{}';

CREATE TABLE message_rules (
    id                 uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    property_id        uuid NOT NULL REFERENCES properties (id) ON DELETE CASCADE,
    position           integer NOT NULL,
    name               text NOT NULL,
    trigger            text NOT NULL CONSTRAINT message_rules_trigger_check CHECK (trigger IN (
                           'booking_confirmed', 'dates_changed', 'before_check_in', 'after_check_in', 'arrived',
                           'before_check_out', 'after_check_out')),
    offset_minutes     integer NOT NULL CONSTRAINT message_rules_offset_range CHECK (offset_minutes BETWEEN 0 AND 43200),
    -- Instead of the instant: this local time on the day the offset lands on.
    local_time         time,
    channels           text[] NOT NULL,
    mode               text NOT NULL CONSTRAINT message_rules_mode_check CHECK (mode IN ('auto', 'draft')),
    -- {"en": "…", "de": "…"}: English is the fallback.
    templates          jsonb NOT NULL,
    whatsapp_template  text,
    CONSTRAINT message_rules_property_name_key UNIQUE (property_id, name)
);

-- One row per booking and rule: what will go out, when, and what became of
-- it. The unique key makes a rule's message once per booking, whatever
-- number of instances schedule it; the outbox's dedupe key once per channel.
CREATE TABLE scheduled_messages (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    booking_id   uuid NOT NULL REFERENCES bookings (id) ON DELETE CASCADE,
    property_id  uuid NOT NULL REFERENCES properties (id) ON DELETE CASCADE,
    rule         text NOT NULL,
    -- When the rule says, and when it goes (after quiet hours).
    due_at       timestamptz NOT NULL,
    send_at      timestamptz NOT NULL,
    channels     text[] NOT NULL,
    mode         text NOT NULL,
    -- waiting: its trigger has not happened (arrived, dates_changed).
    state        text NOT NULL CONSTRAINT scheduled_messages_state_check CHECK (state IN (
                     'waiting', 'scheduled', 'draft', 'approved', 'sent', 'dropped', 'cancelled')),
    -- The stay it was planned for (check-in/check-out): dates_changed
    -- fires when it differs.
    stay         text NOT NULL,
    decided_by   uuid REFERENCES staff (id) ON DELETE SET NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT scheduled_messages_booking_rule_key UNIQUE (booking_id, rule)
);
CREATE INDEX scheduled_messages_drafts_idx ON scheduled_messages (property_id) WHERE state = 'draft';
