-- Master codes are longer than the lock's guest codes (SPEC §3.1, security
-- review L7). Where the lock takes nothing longer (a Nuki keypad takes six
-- digits only; a Seam device reports the lengths it takes), a master code
-- is refused instead of being issued as short as a guest's. Checked after
-- the insert, so that a taken value is still reported as taken.
CREATE FUNCTION access_codes_master_longer() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF char_length(NEW.code) <= (
        SELECT GREATEST(max(l.code_length), max(char_length(c.code)))
        FROM locks l
        LEFT JOIN access_codes c ON c.lock_id = l.id AND c.kind = 'guest' AND c.state <> 'removed'
        WHERE l.id = NEW.lock_id
    ) THEN
        RAISE EXCEPTION 'a master code must be longer than the lock''s guest codes'
            USING ERRCODE = 'check_violation', CONSTRAINT = 'access_codes_master_longer';
    END IF;
    RETURN NULL;
END;
$$;
CREATE TRIGGER access_codes_master_longer AFTER INSERT ON access_codes
    FOR EACH ROW WHEN (NEW.kind = 'master') EXECUTE FUNCTION access_codes_master_longer();
