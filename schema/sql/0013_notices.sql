-- 0013: notices (varsler): the transitions coming, months ahead (issue 22,
-- API.md 1.1 "Notices", DESIGN.md "Notices").
--
-- A notice is filed by the sending unit: "this citizen will come to you
-- around this date". The receiving unit acknowledges it (naming a receiver
-- if it likes); the sending unit turns it into the draft note when the time
-- comes, or cancels it. Like a note, every change writes a new row of
-- notice_versions and one of notice_events (append-only), and an audit row,
-- in the same statement as the change; an acknowledgement's alert is an
-- outbox row in that same transaction.
--
-- The citizen key (0008's stafet_citizen_key: SHA-256 of the CPR number's
-- ten digits) holds "one open notice per citizen and route" as a unique
-- index, and lets continuity and a re-import find the citizen without the
-- number as a query parameter.

CREATE SEQUENCE notice_ref_seq;

CREATE TABLE notices (
    id               uuid PRIMARY KEY,
    ref              text NOT NULL UNIQUE,
    route            text NOT NULL,
    status           text NOT NULL CHECK (status IN
                     ('open', 'acknowledged', 'converted', 'cancelled')),
    version          integer NOT NULL CHECK (version > 0),
    citizen          jsonb NOT NULL,            -- {"cpr", "name", "birthdate"}
    citizen_key      bytea GENERATED ALWAYS AS (stafet_citizen_key(citizen)) STORED,
    birthdate        date,
    sender_person    text NOT NULL,
    sender_unit      text NOT NULL,
    receiver_unit    text NOT NULL,
    receiver_person  text,
    expected_date    date NOT NULL,
    comment          text NOT NULL DEFAULT '' CHECK (char_length(comment) <= 2000),
    milestones_done  jsonb NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(milestones_done) = 'array'),
    handover_id      uuid REFERENCES handovers (id),
    acknowledged_at  timestamptz,
    acknowledged_by  text,
    cancel_reason    text CHECK (char_length(cancel_reason) <= 1000),
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    CHECK ((status = 'converted') = (handover_id IS NOT NULL))
);
-- One open (or acknowledged) notice per citizen and route.
CREATE UNIQUE INDEX notices_one_open ON notices (citizen_key, route)
    WHERE status IN ('open', 'acknowledged') AND citizen_key IS NOT NULL;
-- The lists and the pipeline: a unit's notices, soonest expected first.
CREATE INDEX notices_incoming ON notices (receiver_unit, expected_date, id);
CREATE INDEX notices_outgoing ON notices (sender_unit, expected_date, id);
-- Continuity and load: notices with a named receiver.
CREATE INDEX notices_receiver ON notices (receiver_person, citizen_key)
    WHERE receiver_person IS NOT NULL AND status IN ('open', 'acknowledged');

CREATE TABLE notice_versions (
    notice_id  uuid NOT NULL REFERENCES notices (id),
    version    integer NOT NULL,
    at         timestamptz NOT NULL DEFAULT now(),
    by_person  text NOT NULL,
    status     text NOT NULL,
    action     text NOT NULL,
    doc        jsonb NOT NULL,
    PRIMARY KEY (notice_id, version)
);

CREATE TABLE notice_events (
    id           bigserial PRIMARY KEY,
    notice_id    uuid NOT NULL REFERENCES notices (id),
    at           timestamptz NOT NULL DEFAULT now(),
    by_person    text NOT NULL,
    action       text NOT NULL,
    from_status  text,
    to_status    text NOT NULL,
    version      integer NOT NULL,
    detail       jsonb
);
CREATE INDEX notice_events_notice ON notice_events (notice_id, id);

CREATE TRIGGER notice_versions_no_update BEFORE UPDATE OR DELETE ON notice_versions
    FOR EACH ROW EXECUTE FUNCTION handover_append_only();
CREATE TRIGGER notice_versions_no_truncate BEFORE TRUNCATE ON notice_versions
    FOR EACH STATEMENT EXECUTE FUNCTION handover_append_only();
CREATE TRIGGER notice_events_no_update BEFORE UPDATE OR DELETE ON notice_events
    FOR EACH ROW EXECUTE FUNCTION handover_append_only();
CREATE TRIGGER notice_events_no_truncate BEFORE TRUNCATE ON notice_events
    FOR EACH STATEMENT EXECUTE FUNCTION handover_append_only();
REVOKE UPDATE, DELETE, TRUNCATE ON notice_versions, notice_events FROM PUBLIC;
DO $$
BEGIN
    EXECUTE format('REVOKE UPDATE, DELETE, TRUNCATE ON notice_versions, notice_events FROM %I',
                   current_user);
END
$$;

-- An acknowledgement alerts the sender: the outbox row names the notice.
ALTER TABLE outbox ADD COLUMN notice_id uuid REFERENCES notices (id);

-- A notice as stafetd reads it (it renders the API's shape: names from the
-- directory, the CPR number masked where it must be, the milestones), with
-- the state of the note made from it (the milestones' done).
CREATE FUNCTION notice_json(n notices) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object('id', n.id, 'ref', n.ref, 'route', n.route, 'status', n.status,
        'version', n.version, 'citizen', n.citizen, 'sender_person', n.sender_person,
        'sender_unit', n.sender_unit, 'receiver_unit', n.receiver_unit,
        'receiver_person', n.receiver_person, 'expected_date', n.expected_date,
        'comment', n.comment, 'milestones_done', n.milestones_done,
        'handover_id', n.handover_id,
        'handover_status', (SELECT h.status FROM handovers h
                            WHERE h.id = n.handover_id AND h.deleted_at IS NULL),
        'handover_submitted', (SELECT h.first_submitted_at IS NOT NULL FROM handovers h
                               WHERE h.id = n.handover_id),
        'acknowledged_at', stafet_ts(n.acknowledged_at), 'acknowledged_by', n.acknowledged_by,
        'cancel_reason', n.cancel_reason,
        'created_at', stafet_ts(n.created_at), 'updated_at', stafet_ts(n.updated_at))
$$;

CREATE FUNCTION notice_doc(n notices) RETURNS jsonb
LANGUAGE sql IMMUTABLE AS $$
    SELECT jsonb_build_object('citizen', n.citizen,
        'receiver', jsonb_build_object('unit', n.receiver_unit, 'person', n.receiver_person),
        'expected_date', n.expected_date, 'comment', n.comment,
        'milestones_done', n.milestones_done, 'handover_id', n.handover_id,
        'cancel_reason', n.cancel_reason)
$$;

-- What stands in the way of a new notice for the citizen (key) on the
-- route: an open or acknowledged notice, or an unfinished note (a draft,
-- sent, received or returned). {"kind", "id", "ref"} or NULL.
CREATE FUNCTION notice_conflict(p_key bytea, p_route text, p_except uuid) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT COALESCE(
        (SELECT jsonb_build_object('kind', 'notice', 'id', n.id, 'ref', n.ref)
           FROM notices n WHERE n.citizen_key = p_key AND n.route = p_route
            AND n.status IN ('open', 'acknowledged')
            AND (p_except IS NULL OR n.id <> p_except) LIMIT 1),
        (SELECT jsonb_build_object('kind', 'handover', 'id', h.id, 'ref', h.ref)
           FROM handovers h WHERE h.citizen_key = p_key AND h.route = p_route
            AND h.status IN ('draft', 'submitted', 'received', 'returned')
            AND h.deleted_at IS NULL LIMIT 1))
$$;

-- A new notice: its row, version 1, the "create" event and the audit row.
-- p: {"route", "citizen", "birthdate", "sender_unit", "receiver_unit",
-- "receiver_person", "expected_date", "comment"}. Returns notice_json(), or
-- {"conflict": {"kind", "id", "ref"}} when an open notice or an unfinished
-- note for the citizen and route exists (nothing is written then).
CREATE FUNCTION notice_create(p jsonb, p_by text, p_username text, p_address text)
RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
    n notices;
    c jsonb;
BEGIN
    c := notice_conflict(stafet_citizen_key(p->'citizen'), p->>'route', NULL);
    IF c IS NOT NULL THEN
        RETURN jsonb_build_object('conflict', c);
    END IF;
    BEGIN
        INSERT INTO notices (id, ref, route, status, version, citizen, birthdate, sender_person,
            sender_unit, receiver_unit, receiver_person, expected_date, comment)
        VALUES (gen_random_uuid(),
            'VAR-' || to_char(now(), 'YYYY') || '-' || lpad(nextval('notice_ref_seq')::text, 6, '0'),
            p->>'route', 'open', 1, p->'citizen', (p->>'birthdate')::date, p_by,
            p->>'sender_unit', p->>'receiver_unit', p->>'receiver_person',
            (p->>'expected_date')::date, COALESCE(p->>'comment', ''))
        RETURNING * INTO n;
    EXCEPTION WHEN unique_violation THEN
        -- another request filed the same citizen and route meanwhile
        RETURN jsonb_build_object('conflict',
            notice_conflict(stafet_citizen_key(p->'citizen'), p->>'route', NULL));
    END;
    INSERT INTO notice_versions (notice_id, version, at, by_person, status, action, doc)
    VALUES (n.id, 1, n.created_at, p_by, 'open', 'create', notice_doc(n));
    INSERT INTO notice_events (notice_id, at, by_person, action, from_status, to_status, version,
        detail)
    VALUES (n.id, n.created_at, p_by, 'create', NULL, 'open', 1, p->'event_detail');
    INSERT INTO audit_log (actor_id, actor_username, address, action, object_type, object_id,
        detail)
    VALUES (p_by, p_username, p_address, COALESCE(p->>'audit_action', 'notice.create'),
            'notice', n.id::text, n.ref);
    RETURN notice_json(n);
END
$$;

-- One change of a notice, all or nothing, only at version p_expect: the
-- row, a version, an event, the outbox rows (the sender's alert) and the
-- audit row. p_head holds the columns to change ("status",
-- "receiver_person", "expected_date", "comment", "milestones_done",
-- "acknowledged", "cancel_reason"). Returns notice_json() or NULL when the
-- notice has moved on.
CREATE FUNCTION notice_write(p_id uuid, p_expect integer, p_by text, p_username text,
    p_address text, p_action text, p_head jsonb, p_detail jsonb, p_outbox jsonb)
RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
    n notices;
    old_status text;
BEGIN
    SELECT status INTO old_status FROM notices WHERE id = p_id;
    UPDATE notices SET
        status = COALESCE(p_head->>'status', status),
        receiver_person = CASE WHEN p_head ? 'receiver_person'
                          THEN p_head->>'receiver_person' ELSE receiver_person END,
        expected_date = COALESCE((p_head->>'expected_date')::date, expected_date),
        comment = COALESCE(p_head->>'comment', comment),
        milestones_done = COALESCE(p_head->'milestones_done', milestones_done),
        acknowledged_at = CASE WHEN p_head ? 'acknowledged' THEN clock_timestamp()
                          ELSE acknowledged_at END,
        acknowledged_by = CASE WHEN p_head ? 'acknowledged' THEN p_by ELSE acknowledged_by END,
        cancel_reason = COALESCE(p_head->>'cancel_reason', cancel_reason),
        version = version + 1,
        updated_at = clock_timestamp()
    WHERE id = p_id AND version = p_expect
    RETURNING * INTO n;
    IF NOT FOUND THEN
        RETURN NULL;
    END IF;
    INSERT INTO notice_versions (notice_id, version, at, by_person, status, action, doc)
    VALUES (n.id, n.version, n.updated_at, p_by, n.status, p_action, notice_doc(n));
    INSERT INTO notice_events (notice_id, at, by_person, action, from_status, to_status,
        version, detail)
    VALUES (n.id, n.updated_at, p_by, p_action, old_status, n.status, n.version, p_detail);
    IF p_outbox IS NOT NULL THEN
        INSERT INTO outbox (notice_id, event, audience, recipients, message_id)
        SELECT n.id, o->>'event', COALESCE(o->'audience', '[]'),
               COALESCE(o->'recipients', '[]'), '<' || gen_random_uuid()::text || '@stafet>'
        FROM jsonb_array_elements(p_outbox) AS o;
    END IF;
    INSERT INTO audit_log (actor_id, actor_username, address, action, object_type, object_id,
        detail)
    VALUES (p_by, p_username, p_address, 'notice.' || p_action, 'notice', n.id::text, n.ref);
    RETURN notice_json(n);
END
$$;

-- From notice to note: the draft note (as handover_create makes it, its
-- "create" event naming the notice in its detail), and the notice
-- converted with the note's id; all or nothing, only at version p_expect
-- and while the notice is open or acknowledged. p: handover_create's
-- fields. Returns handover_json(note, true), {"conflict": {...}} when an
-- unfinished note for the citizen and route exists, or NULL when the
-- notice has moved on.
CREATE FUNCTION notice_convert(p_id uuid, p_expect integer, p jsonb, p_by text,
    p_username text, p_address text)
RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
    n notices;
    h handovers;
    c jsonb;
BEGIN
    SELECT * INTO n FROM notices WHERE id = p_id AND version = p_expect
        AND status IN ('open', 'acknowledged') FOR UPDATE;
    IF NOT FOUND THEN
        RETURN NULL;
    END IF;
    c := notice_conflict(n.citizen_key, n.route, n.id);
    IF c IS NOT NULL THEN
        RETURN jsonb_build_object('conflict', c);
    END IF;
    INSERT INTO handovers (id, ref, route, template, template_version, status, version,
        sender_person, sender_unit, receiver_unit, receiver_person, citizen, birthdate,
        planned_date, sections, checks, failed_checks, completeness)
    VALUES (gen_random_uuid(),
        'STF-' || to_char(now(), 'YYYY') || '-' || lpad(nextval('handover_ref_seq')::text, 6, '0'),
        n.route, p->>'template', (p->>'template_version')::int, 'draft', 1,
        p_by, n.sender_unit, n.receiver_unit, n.receiver_person,
        n.citizen, n.birthdate, n.expected_date, '{}', COALESCE(p->'checks', '[]'),
        COALESCE(jsonb_path_query_array(p->'checks', '$[*] ? (@.passed == false)'), '[]'),
        COALESCE((p->>'completeness')::int, 0))
    RETURNING * INTO h;
    INSERT INTO handover_versions (handover_id, version, at, by_person, status, action, doc)
    VALUES (h.id, 1, h.created_at, p_by, 'draft', 'create', handover_doc(h));
    INSERT INTO handover_events (handover_id, at, by_person, action, from_status, to_status,
        version, detail)
    VALUES (h.id, h.created_at, p_by, 'create', NULL, 'draft', 1,
            jsonb_build_object('notice', jsonb_build_object('id', n.id, 'ref', n.ref)));
    INSERT INTO audit_log (actor_id, actor_username, address, action, object_type, object_id,
        detail)
    VALUES (p_by, p_username, p_address, 'handover.create', 'handover', h.id::text,
            h.ref || ' from ' || n.ref);
    PERFORM notice_write_converted(n, h, p_by, p_username, p_address);
    RETURN handover_json(h, true);
END
$$;

CREATE FUNCTION notice_write_converted(n notices, h handovers, p_by text, p_username text,
    p_address text)
RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    m notices;
BEGIN
    UPDATE notices SET status = 'converted', handover_id = h.id, version = version + 1,
        updated_at = clock_timestamp()
    WHERE id = n.id RETURNING * INTO m;
    INSERT INTO notice_versions (notice_id, version, at, by_person, status, action, doc)
    VALUES (m.id, m.version, m.updated_at, p_by, m.status, 'handover', notice_doc(m));
    INSERT INTO notice_events (notice_id, at, by_person, action, from_status, to_status,
        version, detail)
    VALUES (m.id, m.updated_at, p_by, 'handover', n.status, 'converted', m.version,
            jsonb_build_object('handover', jsonb_build_object('id', h.id, 'ref', h.ref)));
    INSERT INTO audit_log (actor_id, actor_username, address, action, object_type, object_id,
        detail)
    VALUES (p_by, p_username, p_address, 'notice.handover', 'notice', m.id::text,
            m.ref || ' to ' || h.ref);
END
$$;

-- The milestones of the shipped routes (the route files in
-- schema/routes/ carry the same), for databases whose routes were seeded
-- before this migration; only where the route is there and has none.
UPDATE routes SET rules = rules || jsonb_build_object('milestones', jsonb_build_array(
    jsonb_build_object('key', 'maal_15', 'label',
        'Klare mål for uddannelse, beskæftigelse, bolig og økonomi i handleplanen',
        'law', 'Barnets Lov § 109; KUI § 2 a', 'from', 'birthdate', 'months', 180),
    jsonb_build_object('key', 'ungeplan_16', 'label',
        'Afgørelse om ungeplan senest 3 måneder efter 16-årsdagen',
        'law', 'Barnets Lov § 108', 'from', 'birthdate', 'months', 195),
    jsonb_build_object('key', 'stoette_18', 'label',
        'For anbragte unge: afgørelse om støtte efter 18 år senest 6 måneder før 18-årsdagen',
        'law', 'Barnets Lov § 111', 'from', 'birthdate', 'months', 210)))
 WHERE code = 'BUR-UR' AND NOT rules ? 'milestones';
UPDATE routes SET rules = rules || jsonb_build_object('milestones', jsonb_build_array(
    jsonb_build_object('key', 'moede_16', 'label',
        '16-årsmøde med den unge og forældrene kort efter 16-årsdagen',
        'law', 'Barnets Lov § 122', 'from', 'birthdate', 'months', 195),
    jsonb_build_object('key', 'stoette_18', 'label',
        'Afgørelse om støtte efter 18 år senest 6 måneder før 18-årsdagen',
        'law', 'Barnets Lov § 111', 'from', 'birthdate', 'months', 210),
    jsonb_build_object('key', 'ydelser_18', 'label',
        'Ydelser, der ophører ved 18 år, afløst af voksenydelser eller markeret som ophørende',
        'law', 'Barnets Lov § 123', 'from', 'birthdate', 'months', 213)))
 WHERE code IN ('BURH-AEHF', 'BURH-BSF') AND NOT rules ? 'milestones';

-- An import's valid lines, in order (p: [{"line", and notice_create's
-- fields}]): each line all or nothing. A line is "unchanged" when the
-- citizen already has an open or acknowledged notice on the route, or any
-- notice on the route with the same expected date (a re-import of the same
-- file changes nothing, whatever became of its notices since); "conflict"
-- when an unfinished note for the citizen and route stands in the way;
-- else "created". Returns [{"line", "result", "id", "ref", "conflict"}].
CREATE FUNCTION notice_import(p jsonb, p_by text, p_username text, p_address text)
RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
    l jsonb;
    r jsonb;
    k bytea;
    m notices;
    out jsonb := '[]';
BEGIN
    FOR l IN SELECT * FROM jsonb_array_elements(p) LOOP
        k := stafet_citizen_key(l->'citizen');
        SELECT * INTO m FROM notices n WHERE n.citizen_key = k AND n.route = l->>'route'
           AND (n.status IN ('open', 'acknowledged')
                OR n.expected_date = (l->>'expected_date')::date)
         ORDER BY n.created_at DESC LIMIT 1;
        IF FOUND THEN
            out := out || jsonb_build_object('line', l->'line', 'result', 'unchanged',
                                             'id', m.id, 'ref', m.ref);
            CONTINUE;
        END IF;
        r := notice_create(l || '{"event_detail": {"import": true},
                                  "audit_action": "notice.import"}', p_by, p_username, p_address);
        IF r ? 'conflict' THEN
            out := out || jsonb_build_object('line', l->'line', 'result', 'conflict',
                                             'conflict', r->'conflict');
        ELSE
            out := out || jsonb_build_object('line', l->'line', 'result', 'created',
                                             'id', r->'id', 'ref', r->'ref');
        END IF;
    END LOOP;
    RETURN out;
END
$$;
