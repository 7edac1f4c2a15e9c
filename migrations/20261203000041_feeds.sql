-- Bookings read from where operators have them (SPEC §9): iCal feeds per
-- room. A booking remembers where it came from and, when the calendar gives
-- no phone (Airbnb gives its last four digits), those digits for a claim.

ALTER TABLE bookings
    ADD COLUMN source text NOT NULL DEFAULT 'api',
    ADD COLUMN phone_last4 text CONSTRAINT bookings_phone_last4_digits CHECK (phone_last4 ~ '^[0-9]{4}$');

CREATE TABLE feeds (
    id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    property_id      uuid NOT NULL,
    room_id          uuid NOT NULL,
    url              text NOT NULL CONSTRAINT feeds_url_http CHECK (url ~* '^https?://'),
    source           text NOT NULL CONSTRAINT feeds_source_check CHECK (source IN ('airbnb', 'booking', 'vrbo', 'other')),
    -- conditional requests: what the server said last time
    etag             text,
    last_modified    text,
    last_fetched_at  timestamptz,
    -- 'ok', 'unchanged', 'failed', 'empty' (had events, now none: not trusted)
    last_status      text,
    last_error       text,
    -- the first failure of the current run of failures; NULL when the last fetch worked
    failing_since    timestamptz,
    -- events in the last good fetch
    events           integer NOT NULL DEFAULT 0,
    created_at       timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT feeds_room_in_property_fkey FOREIGN KEY (room_id, property_id)
        REFERENCES rooms (id, property_id) ON DELETE CASCADE,
    CONSTRAINT feeds_room_url_key UNIQUE (room_id, url)
);

-- One row per stay a feed has shown: which booking it is, and how many good
-- fetches in a row it has been missing from.
CREATE TABLE feed_events (
    feed_id          uuid NOT NULL REFERENCES feeds (id) ON DELETE CASCADE,
    uid              text NOT NULL,
    booking_id       uuid NOT NULL REFERENCES bookings (id) ON DELETE CASCADE,
    -- what the event said last time (dates, name, digits): unchanged events cost no write
    fingerprint      text NOT NULL,
    missing_fetches  integer NOT NULL DEFAULT 0,
    last_seen_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (feed_id, uid)
);
CREATE INDEX feed_events_booking_idx ON feed_events (booking_id);
