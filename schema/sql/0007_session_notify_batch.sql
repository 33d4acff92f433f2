-- 0007: session ends announced once per statement, and always.
--
-- 0006 announced each deleted session with a NOTIFY of its own, and each
-- daemon forgot it by looking through its whole cache: the janitor's sweep
-- of thousands of expired sessions cost every daemon thousands of such
-- looks on its event loop. Now a DELETE announces its sessions' ids one by
-- one only while they are few, and '*' (forget every cached session) when
-- there are more.
--
-- A session also ends when its expires_at is moved earlier or its token
-- replaced; such an UPDATE is announced like a DELETE. Moving the idle
-- clock (last_seen_at) is not.
--
-- The triggers fire ALWAYS, also where session_replication_role is
-- 'replica' (a restore, logical replication), and stafetd uses its cache
-- only while both are there and enabled so (daemon/session_cache.c).

DROP TRIGGER sessions_announce_end ON sessions;
DROP TRIGGER sessions_announce_truncate ON sessions;
DROP FUNCTION sessions_announce_end();

CREATE FUNCTION sessions_announce_end() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    n bigint;
BEGIN
    IF TG_OP = 'TRUNCATE' THEN
        PERFORM pg_notify('stafet_session_end', '*');
    ELSIF TG_OP = 'UPDATE' THEN
        PERFORM pg_notify('stafet_session_end', OLD.id::text);
    ELSE
        SELECT count(*) INTO n FROM ended;
        IF n > 32 THEN
            PERFORM pg_notify('stafet_session_end', '*');
        ELSIF n > 0 THEN
            PERFORM pg_notify('stafet_session_end', id::text) FROM ended;
        END IF;
    END IF;
    RETURN NULL;
END;
$$;

CREATE TRIGGER sessions_announce_end AFTER DELETE ON sessions
    REFERENCING OLD TABLE AS ended
    FOR EACH STATEMENT EXECUTE FUNCTION sessions_announce_end();
CREATE TRIGGER sessions_announce_truncate AFTER TRUNCATE ON sessions
    FOR EACH STATEMENT EXECUTE FUNCTION sessions_announce_end();
CREATE TRIGGER sessions_announce_change AFTER UPDATE OF expires_at, token_hash ON sessions
    FOR EACH ROW
    WHEN (NEW.expires_at < OLD.expires_at OR NEW.token_hash <> OLD.token_hash)
    EXECUTE FUNCTION sessions_announce_end();

ALTER TABLE sessions ENABLE ALWAYS TRIGGER sessions_announce_end;
ALTER TABLE sessions ENABLE ALWAYS TRIGGER sessions_announce_truncate;
ALTER TABLE sessions ENABLE ALWAYS TRIGGER sessions_announce_change;
