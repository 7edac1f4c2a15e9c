-- Identity belongs to one booking (security review H1, M2, M3, M4).
--
-- A Telegram chat, a number staff linked with /link, or a chat that claimed
-- a stay is tied to the booking it was linked for, and stops at that
-- booking's check-out (the join with bookings.check_out_at decides, so a
-- moved stay moves the end too). A guest row keyed by phone no longer
-- carries a chat or an e-mail address from one booking to the next.

CREATE TABLE booking_contacts (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    booking_id  uuid NOT NULL REFERENCES bookings (id) ON DELETE CASCADE,
    -- 'phone': an E.164 number writing on WhatsApp (or the console);
    -- 'telegram': a private Telegram chat id.
    kind        text NOT NULL CONSTRAINT booking_contacts_kind_check CHECK (kind IN ('phone', 'telegram')),
    address     text NOT NULL,
    -- 'telegram_link', 'telegram_contact', 'claim' or the staff actor ('staff:<id>')
    linked_by   text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    ended_at    timestamptz,
    end_reason  text
);
CREATE UNIQUE INDEX booking_contacts_live_key ON booking_contacts (booking_id, kind, address) WHERE ended_at IS NULL;
CREATE INDEX booking_contacts_address_idx ON booking_contacts (kind, address) WHERE ended_at IS NULL;
CREATE INDEX booking_contacts_linked_by_idx ON booking_contacts (linked_by) WHERE ended_at IS NULL;

-- Numbers linked with /link keep working for the booking they were linked
-- for (they already stopped at its check-out).
INSERT INTO booking_contacts (booking_id, kind, address, linked_by, created_at)
SELECT booking_id, 'phone', phone, linked_by, created_at FROM guest_phones WHERE booking_id IS NOT NULL;
DROP TABLE guest_phones;

-- A Telegram chat linked to a guest row follows only that guest's current or
-- next stay; older links are dropped.
INSERT INTO booking_contacts (booking_id, kind, address, linked_by)
SELECT DISTINCT ON (g.id) b.id, 'telegram', g.telegram_chat_id::text, 'telegram_link'
FROM guests g JOIN bookings b ON b.guest_id = g.id
WHERE g.telegram_chat_id IS NOT NULL AND b.status = 'confirmed' AND b.check_out_at > now()
ORDER BY g.id, b.check_in_at;
ALTER TABLE guests DROP COLUMN telegram_chat_id;

-- A deep-link token always names its booking.
DELETE FROM telegram_link_tokens WHERE booking_id IS NULL;
ALTER TABLE telegram_link_tokens ALTER COLUMN booking_id SET NOT NULL;

-- The e-mail address a booking's messages go to is that booking's own.
ALTER TABLE bookings ADD COLUMN guest_email text;
UPDATE bookings b SET guest_email = g.email FROM guests g WHERE g.id = b.guest_id;

-- Roles per property (M4): staff.role 'admin' stays the global admin; every
-- other role is the one held at each property.
ALTER TABLE staff_properties ADD COLUMN role text;
UPDATE staff_properties sp SET role = CASE s.role WHEN 'admin' THEN 'manager' ELSE s.role END
FROM staff s WHERE s.id = sp.staff_id;
ALTER TABLE staff_properties ALTER COLUMN role SET NOT NULL;
ALTER TABLE staff_properties ADD CONSTRAINT staff_properties_role_check CHECK (role IN ('manager', 'staff'));

-- Less at rest (M8): a message that carried a code, a wifi password or a
-- link keeps its record (recipient, purpose, status, times) but not its text
-- once it was delivered or failed.
ALTER TABLE notifications ADD COLUMN body_cleared_at timestamptz;
