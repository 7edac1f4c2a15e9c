-- A revocation by staff or the API sticks: the booking's next upsert does
-- not issue its codes again until staff re-issue them (/regen) or the PMS
-- confirms the booking anew.
ALTER TABLE bookings ADD COLUMN codes_revoked_at timestamptz;
