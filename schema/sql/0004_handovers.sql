-- 0004: templates, handover notes, their versions, events and flags, and
-- the outbox of alerts.
--
-- A note's current state is one row of handovers; every change writes a
-- new row of handover_versions (the whole note as it then stood) and one of
-- handover_events (who moved it from which state to which), in the same
-- statement as the change (handover_write below). Versions and events are
-- append-only, like audit_log: nothing the API does overwrites or deletes
-- them. Alerts are rows of outbox written in that same transaction, so a
-- change and its alert stand or fall together.

-- Templates are versioned and immutable: a note keeps the (code, version)
-- it was written against. stafetd --migrate adds the shipped ones
-- (schema/templates/*.json) that are missing, at every run; a new version is
-- a new row.
CREATE TABLE templates (
    code        text NOT NULL CHECK (code ~ '^[a-z0-9][a-z0-9_-]{0,63}$'),
    version     integer NOT NULL CHECK (version > 0),
    body        jsonb NOT NULL CHECK (jsonb_typeof(body) = 'object'),
    loaded_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (code, version)
);

CREATE SEQUENCE handover_ref_seq;

CREATE TABLE handovers (
    id                  uuid PRIMARY KEY,
    ref                 text NOT NULL UNIQUE,
    route               text NOT NULL,
    template            text NOT NULL,
    template_version    integer NOT NULL,
    status              text NOT NULL CHECK (status IN
                        ('draft', 'submitted', 'received', 'returned', 'accepted', 'withdrawn')),
    version             integer NOT NULL CHECK (version > 0),
    sender_person       text NOT NULL,
    sender_unit         text NOT NULL,
    receiver_unit       text NOT NULL,
    receiver_person     text,
    citizen             jsonb NOT NULL,          -- {"cpr", "name", "birthdate"}
    birthdate           date,
    planned_date        date,
    sections            jsonb NOT NULL DEFAULT '{}',
    checks              jsonb NOT NULL DEFAULT '[]',
    failed_checks       jsonb NOT NULL DEFAULT '[]', -- those of checks not passed (the lists)
    completeness        integer NOT NULL DEFAULT 0 CHECK (completeness BETWEEN 0 AND 100),
    readback            text,
    returned_by         text,                    -- who returned it last
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now(),
    submitted_at        timestamptz,             -- the latest submit
    first_submitted_at  timestamptz,             -- when it was filed (reports)
    received_at         timestamptz,
    decided_at          timestamptz
);
-- The boxes: the notes of some units, newest change first, keyset pages.
CREATE INDEX handovers_incoming ON handovers (receiver_unit, updated_at DESC, id DESC)
    WHERE status <> 'draft';
CREATE INDEX handovers_outgoing ON handovers (sender_unit, updated_at DESC, id DESC);
CREATE INDEX handovers_filed ON handovers (first_submitted_at) WHERE first_submitted_at IS NOT NULL;

CREATE TABLE handover_versions (
    handover_id  uuid NOT NULL REFERENCES handovers (id),
    version      integer NOT NULL,
    at           timestamptz NOT NULL DEFAULT now(),
    by_person    text NOT NULL,
    status       text NOT NULL,
    action       text NOT NULL,
    doc          jsonb NOT NULL,   -- citizen, receiver, planned_date, sections, failed checks, completeness
    PRIMARY KEY (handover_id, version)
);

CREATE TABLE handover_events (
    id           bigserial PRIMARY KEY,
    handover_id  uuid NOT NULL REFERENCES handovers (id),
    at           timestamptz NOT NULL DEFAULT now(),
    by_person    text NOT NULL,
    action       text NOT NULL,
    from_status  text,
    to_status    text NOT NULL,
    version      integer NOT NULL,
    detail       jsonb             -- forward: units and reason; accept: read-back
);
CREATE INDEX handover_events_note ON handover_events (handover_id, id);

-- The receiving team's flags when it returns a note; resolved by the next
-- submit. Reports count them by section.
CREATE TABLE handover_flags (
    id           bigserial PRIMARY KEY,
    handover_id  uuid NOT NULL REFERENCES handovers (id),
    version      integer NOT NULL,
    section      text NOT NULL,
    kind         text NOT NULL CHECK (kind IN ('missing', 'imprecise')),
    comment      text NOT NULL DEFAULT '',
    by_person    text NOT NULL,
    at           timestamptz NOT NULL DEFAULT now(),
    resolved_at  timestamptz
);
CREATE INDEX handover_flags_note ON handover_flags (handover_id, id);

-- Alerts waiting to be mailed. `audience` is who should hear of it (a
-- person or a unit's mailbox), `recipients` the addresses the directory
-- gave when the row was written (deputies of the absent included);
-- delivery may resolve them again. Never a CPR number, a name or note
-- text in here: the mail is built from the ref, route, status and dates.
CREATE TABLE outbox (
    id              bigserial PRIMARY KEY,
    handover_id     uuid REFERENCES handovers (id),
    event           text NOT NULL,
    audience        jsonb NOT NULL DEFAULT '[]',
    recipients      jsonb NOT NULL DEFAULT '[]',
    message_id      text NOT NULL UNIQUE,
    created_at      timestamptz NOT NULL DEFAULT now(),
    state           text NOT NULL DEFAULT 'pending'
                    CHECK (state IN ('pending', 'sent', 'dead')),
    attempts        integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    lease_until     timestamptz,
    sent_at         timestamptz,
    last_error      text
);
CREATE INDEX outbox_due ON outbox (next_attempt_at) WHERE state = 'pending';
CREATE INDEX outbox_note ON outbox (handover_id, id);

CREATE FUNCTION handover_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'insufficient_privilege';
END
$$;
CREATE TRIGGER handover_versions_no_update BEFORE UPDATE OR DELETE ON handover_versions
    FOR EACH ROW EXECUTE FUNCTION handover_append_only();
CREATE TRIGGER handover_versions_no_truncate BEFORE TRUNCATE ON handover_versions
    FOR EACH STATEMENT EXECUTE FUNCTION handover_append_only();
CREATE TRIGGER handover_events_no_update BEFORE UPDATE OR DELETE ON handover_events
    FOR EACH ROW EXECUTE FUNCTION handover_append_only();
CREATE TRIGGER handover_events_no_truncate BEFORE TRUNCATE ON handover_events
    FOR EACH STATEMENT EXECUTE FUNCTION handover_append_only();
REVOKE UPDATE, DELETE, TRUNCATE ON handover_versions, handover_events FROM PUBLIC;
DO $$
BEGIN
    EXECUTE format('REVOKE UPDATE, DELETE, TRUNCATE ON handover_versions, handover_events FROM %I',
                   current_user);
END
$$;

-- RFC 3339 in UTC, as the API writes times.
-- (handover_flags_json follows it: a note's flags, oldest first.)
CREATE FUNCTION stafet_ts(t timestamptz) RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')
$$;

CREATE FUNCTION handover_flags_json(p_id uuid) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT COALESCE(jsonb_agg(jsonb_build_object('section', f.section, 'kind', f.kind,
               'comment', f.comment, 'by', f.by_person, 'at', stafet_ts(f.at),
               'resolved', f.resolved_at IS NOT NULL) ORDER BY f.id), '[]')
    FROM handover_flags f WHERE f.handover_id = p_id
$$;

-- A note as stafetd reads it (it renders the API's shape, with names
-- from the directory and the CPR number masked where it must be): the
-- sections and checks only with_body. PL/pgSQL, so that its plan is cached
-- per connection rather than made again at every call. The lists do not
-- use it: passing a whole row would detoast the sections of every row read.
CREATE FUNCTION handover_json(h handovers, with_body boolean) RETURNS jsonb
LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN jsonb_build_object('id', h.id, 'ref', h.ref, 'route', h.route,
        'template', h.template, 'template_version', h.template_version,
        'status', h.status, 'version', h.version,
        'sender_person', h.sender_person, 'sender_unit', h.sender_unit,
        'receiver_unit', h.receiver_unit, 'receiver_person', h.receiver_person,
        'citizen', h.citizen, 'planned_date', h.planned_date,
        'sections', CASE WHEN with_body THEN h.sections END,
        'checks', CASE WHEN with_body THEN h.checks END,
        'completeness', h.completeness, 'readback', h.readback, 'returned_by', h.returned_by,
        'created_at', stafet_ts(h.created_at), 'updated_at', stafet_ts(h.updated_at),
        'submitted_at', stafet_ts(h.submitted_at),
        'first_submitted_at', stafet_ts(h.first_submitted_at),
        'received_at', stafet_ts(h.received_at), 'decided_at', stafet_ts(h.decided_at),
        'cursor', (extract(epoch FROM h.updated_at) * 1000000)::bigint,
        'flags', handover_flags_json(h.id));
END
$$;

-- The document a version keeps: the note's content as it then stood, and
-- the checks that failed then (those that passed are not stored again).
CREATE FUNCTION handover_doc(h handovers) RETURNS jsonb
LANGUAGE sql IMMUTABLE AS $$
    SELECT jsonb_build_object('citizen', h.citizen,
        'receiver', jsonb_build_object('unit', h.receiver_unit, 'person', h.receiver_person),
        'planned_date', h.planned_date, 'sections', h.sections,
        'checks', jsonb_path_query_array(h.checks, '$[*] ? (@.passed == false)'),
        'completeness', h.completeness, 'readback', h.readback)
$$;

-- A new note: its row, version 1, the "create" event and the audit row.
CREATE FUNCTION handover_create(p jsonb, p_by text, p_username text, p_address text)
RETURNS handovers
LANGUAGE plpgsql AS $$
DECLARE
    h handovers;
BEGIN
    INSERT INTO handovers (id, ref, route, template, template_version, status, version,
        sender_person, sender_unit, receiver_unit, receiver_person, citizen, birthdate,
        planned_date, sections, checks, failed_checks, completeness)
    VALUES (gen_random_uuid(),
        'STF-' || to_char(now(), 'YYYY') || '-' || lpad(nextval('handover_ref_seq')::text, 6, '0'),
        p->>'route', p->>'template', (p->>'template_version')::int, 'draft', 1,
        p_by, p->>'sender_unit', p->>'receiver_unit', p->>'receiver_person',
        p->'citizen', (p->>'birthdate')::date, (p->>'planned_date')::date,
        COALESCE(p->'sections', '{}'), COALESCE(p->'checks', '[]'),
        COALESCE(jsonb_path_query_array(p->'checks', '$[*] ? (@.passed == false)'), '[]'),
        COALESCE((p->>'completeness')::int, 0))
    RETURNING * INTO h;
    INSERT INTO handover_versions (handover_id, version, at, by_person, status, action, doc)
    VALUES (h.id, 1, h.created_at, p_by, 'draft', 'create', handover_doc(h));
    INSERT INTO handover_events (handover_id, at, by_person, action, from_status, to_status,
        version)
    VALUES (h.id, h.created_at, p_by, 'create', NULL, 'draft', 1);
    INSERT INTO audit_log (actor_id, actor_username, address, action, object_type, object_id,
        detail)
    VALUES (p_by, p_username, p_address, 'handover.create', 'handover', h.id::text, h.ref);
    RETURN h;
END
$$;

-- One change of a note, all or nothing: the row (only when it is still at
-- version p_expect: optimistic concurrency), a version, an event, flags to
-- add, the outbox rows and the audit row. p_head holds the columns to
-- change ("status", "receiver_unit", "receiver_person", "citizen",
-- "birthdate", "planned_date", "sections", "checks", "completeness",
-- "readback", "returned_by"). Returns the note as handover_json() gives it,
-- read after the writes (so with its new flags), or NULL when the note has
-- moved on.
CREATE FUNCTION handover_write(p_id uuid, p_expect integer, p_by text, p_username text,
    p_address text, p_action text, p_head jsonb, p_detail jsonb, p_flags jsonb,
    p_outbox jsonb)
RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
    h handovers;
    old_status text;
    new_status text := p_head->>'status';
BEGIN
    SELECT status INTO old_status FROM handovers WHERE id = p_id;
    UPDATE handovers SET
        status = COALESCE(new_status, status),
        receiver_unit = COALESCE(p_head->>'receiver_unit', receiver_unit),
        receiver_person = CASE WHEN p_head ? 'receiver_person'
                          THEN p_head->>'receiver_person' ELSE receiver_person END,
        citizen = COALESCE(p_head->'citizen', citizen),
        birthdate = CASE WHEN p_head ? 'birthdate'
                    THEN (p_head->>'birthdate')::date ELSE birthdate END,
        planned_date = CASE WHEN p_head ? 'planned_date'
                       THEN (p_head->>'planned_date')::date ELSE planned_date END,
        sections = COALESCE(p_head->'sections', sections),
        checks = COALESCE(p_head->'checks', checks),
        failed_checks = COALESCE(jsonb_path_query_array(p_head->'checks',
                                     '$[*] ? (@.passed == false)'), failed_checks),
        completeness = COALESCE((p_head->>'completeness')::int, completeness),
        readback = CASE WHEN p_head ? 'readback' THEN p_head->>'readback' ELSE readback END,
        returned_by = CASE WHEN p_head ? 'returned_by'
                      THEN p_head->>'returned_by' ELSE returned_by END,
        version = version + 1,
        updated_at = clock_timestamp(),
        submitted_at = CASE WHEN new_status = 'submitted' THEN clock_timestamp()
                       ELSE submitted_at END,
        first_submitted_at = CASE WHEN new_status = 'submitted' AND first_submitted_at IS NULL
                             THEN clock_timestamp() ELSE first_submitted_at END,
        received_at = CASE WHEN new_status = 'received' THEN clock_timestamp()
                      WHEN new_status = 'submitted' THEN NULL ELSE received_at END,
        decided_at = CASE WHEN new_status IN ('accepted', 'returned', 'withdrawn')
                     THEN clock_timestamp()
                     WHEN new_status = 'submitted' THEN NULL ELSE decided_at END
    WHERE id = p_id AND version = p_expect
    RETURNING * INTO h;
    IF NOT FOUND THEN
        RETURN NULL;
    END IF;
    INSERT INTO handover_versions (handover_id, version, at, by_person, status, action, doc)
    VALUES (h.id, h.version, h.updated_at, p_by, h.status, p_action, handover_doc(h));
    INSERT INTO handover_events (handover_id, at, by_person, action, from_status, to_status,
        version, detail)
    VALUES (h.id, h.updated_at, p_by, p_action, old_status, h.status, h.version, p_detail);
    IF p_action = 'submit' THEN
        UPDATE handover_flags SET resolved_at = h.updated_at
        WHERE handover_id = h.id AND resolved_at IS NULL;
    END IF;
    IF p_flags IS NOT NULL THEN
        INSERT INTO handover_flags (handover_id, version, section, kind, comment, by_person, at)
        SELECT h.id, h.version, f->>'section', f->>'kind', COALESCE(f->>'comment', ''), p_by,
               h.updated_at
        FROM jsonb_array_elements(p_flags) AS f;
    END IF;
    IF p_outbox IS NOT NULL THEN
        INSERT INTO outbox (handover_id, event, audience, recipients, message_id)
        SELECT h.id, o->>'event', COALESCE(o->'audience', '[]'), COALESCE(o->'recipients', '[]'),
               '<' || gen_random_uuid()::text || '@stafet>'
        FROM jsonb_array_elements(p_outbox) AS o;
    END IF;
    INSERT INTO audit_log (actor_id, actor_username, address, action, object_type, object_id,
        detail)
    VALUES (p_by, p_username, p_address, 'handover.' || p_action, 'handover', h.id::text,
            h.ref);
    RETURN handover_json(h, true);
END
$$;

