-- SMS and email (issue: guest notifications on every channel the guest has).
-- A property lists the channels it uses; an email carries a subject and an
-- HTML part beside its text.
ALTER TABLE properties ADD COLUMN notify_channels text[] NOT NULL DEFAULT '{whatsapp,telegram,sms,email}';
ALTER TABLE notifications ADD COLUMN subject text, ADD COLUMN html text;
