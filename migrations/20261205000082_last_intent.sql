-- What the bot last answered a chat (an intent of the router, SPEC §4), so
-- that a short reply ("thanks", "still no") is read after it.
ALTER TABLE chat_contacts
    ADD COLUMN last_intent    text,
    ADD COLUMN last_intent_at timestamptz;
