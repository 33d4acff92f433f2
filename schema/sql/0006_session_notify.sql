-- 0006: a session that ends is announced.
--
-- stafetd keeps the sessions it has looked up in memory for a few seconds
-- (daemon/session_cache.c), so that not every request costs a query. A
-- logout on any daemon must still end the session on all of them at once:
-- every deleted session is announced with NOTIFY stafet_session_end (the
-- payload is its id; '*' after a TRUNCATE), and each daemon LISTENs on a
-- connection of its own. A daemon uses its cache only while it listens and
-- this trigger exists.

CREATE FUNCTION sessions_announce_end() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'TRUNCATE' THEN
        PERFORM pg_notify('stafet_session_end', '*');
        RETURN NULL;
    END IF;
    PERFORM pg_notify('stafet_session_end', OLD.id::text);
    RETURN NULL;
END;
$$;

CREATE TRIGGER sessions_announce_end AFTER DELETE ON sessions
    FOR EACH ROW EXECUTE FUNCTION sessions_announce_end();
CREATE TRIGGER sessions_announce_truncate AFTER TRUNCATE ON sessions
    FOR EACH STATEMENT EXECUTE FUNCTION sessions_announce_end();
