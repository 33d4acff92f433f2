-- 0002: login sessions and the audit log.
--
-- A session row holds the SHA-256 of its token, never the token itself.
-- Idle expiry is judged from last_seen_at with the configured timeout, so a
-- changed timeout applies to sessions already open; expires_at is the
-- absolute end fixed at login.
CREATE TABLE sessions (
    id            bigserial PRIMARY KEY,
    token_hash    bytea NOT NULL UNIQUE CHECK (octet_length(token_hash) = 32),
    person_id     text NOT NULL,
    username      text NOT NULL,
    address       text,
    created_at    timestamptz NOT NULL DEFAULT now(),
    last_seen_at  timestamptz NOT NULL DEFAULT now(),
    expires_at    timestamptz NOT NULL
);
CREATE INDEX sessions_person ON sessions (person_id);
CREATE INDEX sessions_expires ON sessions (expires_at);

-- Who did what, when, from where, to which object. Append-only: rows are
-- inserted and read, never changed. The privileges are revoked from the
-- role that runs the migrations (normally the application's own) and a
-- trigger refuses UPDATE, DELETE and TRUNCATE from anyone, owner included,
-- short of DDL that the daemon never issues.
CREATE TABLE audit_log (
    id              bigserial PRIMARY KEY,
    at              timestamptz NOT NULL DEFAULT now(),
    actor_id        text,
    actor_username  text,
    address         text,
    action          text NOT NULL,
    object_type     text,
    object_id       text,
    detail          text
);
CREATE INDEX audit_log_actor ON audit_log (actor_id, id);
CREATE INDEX audit_log_actor_username ON audit_log (lower(actor_username), id);
CREATE INDEX audit_log_object ON audit_log (object_id, id);
CREATE INDEX audit_log_action ON audit_log (action, id);

CREATE FUNCTION audit_log_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END
$$;
CREATE TRIGGER audit_log_no_update BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();

REVOKE UPDATE, DELETE, TRUNCATE ON audit_log FROM PUBLIC;
DO $$
BEGIN
    EXECUTE format('REVOKE UPDATE, DELETE, TRUNCATE ON audit_log FROM %I', current_user);
END
$$;
