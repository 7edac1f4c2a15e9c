-- Each attempt to hand a notification to its provider is counted before the
-- call. A count above one with no error recorded means an earlier attempt was
-- cut off (the process was killed mid-send): the provider may have taken that
-- one, so the recipient may see the message twice. doorman sends again rather
-- than risk a guest never getting their code.
ALTER TABLE notifications ADD COLUMN send_attempts integer NOT NULL DEFAULT 0;
