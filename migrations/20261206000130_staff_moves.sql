-- What the calendar or PMS said before staff moved a stay (SPEC §11:
-- /early, /late, PATCH /bookings/{ref}, a departure). A resend of those
-- same times keeps the staff's move; a time upstream has changed since wins.
ALTER TABLE bookings
    ADD COLUMN upstream_check_in_at timestamptz,
    ADD COLUMN upstream_check_out_at timestamptz;
