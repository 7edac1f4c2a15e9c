-- Turnovers (SPEC §11): staff flagged `cleaner` per property get a code of
-- kind `staff` between two stays of a room, on the room's and the entrance
-- locks, moved and cancelled with the stays around it.
ALTER TABLE staff_properties ADD COLUMN cleaner boolean NOT NULL DEFAULT false;

ALTER TABLE properties
    ADD COLUMN cleaning_window_minutes integer NOT NULL DEFAULT 240
        CONSTRAINT properties_cleaning_window_range CHECK (cleaning_window_minutes BETWEEN 15 AND 1440);

-- A guest who left early (they confirmed, or staff ran /checkout): the
-- turnover starts when their access ends, without the after buffer.
ALTER TABLE bookings ADD COLUMN departed_at timestamptz;

CREATE TABLE turnovers (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    property_id     uuid NOT NULL REFERENCES properties (id) ON DELETE CASCADE,
    room_id         uuid NOT NULL REFERENCES rooms (id) ON DELETE CASCADE,
    -- The stay whose check-out starts it, and the one whose check-in ends it
    -- (none: the property's cleaning window).
    booking_id      uuid NOT NULL REFERENCES bookings (id) ON DELETE CASCADE,
    next_booking_id uuid REFERENCES bookings (id) ON DELETE SET NULL,
    staff_id        uuid REFERENCES staff (id) ON DELETE SET NULL,
    starts_at       timestamptz NOT NULL,
    ends_at         timestamptz NOT NULL,
    state           text NOT NULL DEFAULT 'planned'
        CONSTRAINT turnovers_state_check CHECK (state IN ('planned', 'cancelled')),
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT turnovers_window_order CHECK (ends_at > starts_at)
);
CREATE UNIQUE INDEX turnovers_booking_key ON turnovers (booking_id) WHERE state = 'planned';
CREATE INDEX turnovers_room_idx ON turnovers (room_id, starts_at);
CREATE INDEX turnovers_next_idx ON turnovers (next_booking_id) WHERE next_booking_id IS NOT NULL;
CREATE INDEX turnovers_day_idx ON turnovers (property_id, starts_at) WHERE state = 'planned';

ALTER TABLE access_codes ADD COLUMN turnover_id uuid REFERENCES turnovers (id) ON DELETE SET NULL;
CREATE INDEX access_codes_turnover_idx ON access_codes (turnover_id) WHERE turnover_id IS NOT NULL;

-- A guest who said they have left is asked to confirm (SPEC §11): when, and
-- in which language; their next message answers it.
ALTER TABLE bookings
    ADD COLUMN departure_asked_at timestamptz,
    ADD COLUMN departure_asked_language text;
