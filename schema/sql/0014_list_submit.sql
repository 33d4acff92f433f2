-- 0014: the lists and submit, cheaper where PostgreSQL spent its time
-- (issue 23; bench/README.md "The lists and submit after 0014").
--
-- Profiles of the backends under the benchmark's loads showed the SQL
-- functions that PostgreSQL cannot inline parsed and planned anew in every
-- statement that calls them (fmgr_sql, 20 % of a submit's CPU), and a list
-- page spending most of its time building JSON in SQL (to_char per
-- timestamp, one flags sub-select per row through fmgr_sql) that stafetd
-- then parsed again. What changes, with the same results:
--
-- * handover_flags_json: PL/pgSQL, so its query is planned once per
--   connection, not at every call.
-- * handover_doc: STABLE (it was IMMUTABLE over STABLE functions, which
--   keeps PostgreSQL from inlining it); now it is inlined where it is called.
-- * stafet_citizen_key (the generated column, computed at every update of
--   a note): the same value without a sub-select, so it too is inlined.
-- * The boxes' indexes carry the columns the lists filter on (INCLUDE), so
--   finding a page reads the index only; the rows of the page are then
--   fetched by id.
-- * handover_list(): a box's page as plain columns (times as microseconds
--   since the epoch, the date as days; stafetd writes the JSON), its query
--   planned once per connection, and the audit row of the read written in
--   the same call (one statement, one round trip).
-- * handover_write() gains p_body (default true): a submit asks for the
--   note without sections and checks, which stafetd already has.
-- * handover_load(): a note's load, its query planned once per connection
--   (as a statement of its own it was planned at every request).

CREATE OR REPLACE FUNCTION handover_flags_json(p_id uuid) RETURNS jsonb
LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN (SELECT COALESCE(jsonb_agg(jsonb_build_object('section', f.section, 'kind', f.kind,
               'comment', f.comment, 'by', f.by_person, 'at', stafet_ts(f.at),
               'resolved', f.resolved_at IS NOT NULL,
               'reply', CASE WHEN f.reply_text IS NULL THEN NULL
                        ELSE jsonb_build_object('text', f.reply_text, 'by', f.reply_by,
                                                'at', stafet_ts(f.reply_at)) END)
               ORDER BY f.id), '[]')
            FROM handover_flags f WHERE f.handover_id = p_id);
END
$$;

CREATE OR REPLACE FUNCTION handover_doc(h handovers) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object('citizen', h.citizen,
        'receiver', jsonb_build_object('unit', h.receiver_unit, 'person', h.receiver_person),
        'planned_date', h.planned_date, 'sections', h.sections,
        'checks', jsonb_path_query_array(h.checks, '$[*] ? (@.passed == false)'),
        'completeness', h.completeness, 'readback', h.readback)
$$;

CREATE OR REPLACE FUNCTION stafet_citizen_key(citizen jsonb) RETURNS bytea
    LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN replace(citizen->>'cpr', '-', '') ~ '^[0-9]{10}$'
                THEN sha256(decode(replace(citizen->>'cpr', '-', ''), 'escape')) END
$$;

DROP INDEX handovers_incoming;
CREATE INDEX handovers_incoming ON handovers (receiver_unit, updated_at DESC, id DESC)
    INCLUDE (status, route, first_submitted_at, deleted_at) WHERE status <> 'draft';
DROP INDEX handovers_outgoing;
CREATE INDEX handovers_outgoing ON handovers (sender_unit, updated_at DESC, id DESC)
    INCLUDE (status, route, sender_person, deleted_at);

-- A page of a box ('incoming', 'outgoing', 'drafts' or 'all': both of the
-- first two) of the units p_units, newest change first, at most p_limit
-- rows, after the cursor (p_cur_us, p_cur_id) when given; p_statuses and
-- p_route filter when not NULL; p_person's own drafts only in 'drafts'.
-- Per unit, the newest notes of its box by that box's index, each scan
-- stopping after a page (a "= ANY" over the units would read and sort the
-- whole box), then the newest page of those, then their rows. Writes the
-- read's audit row first (the same transaction).
CREATE FUNCTION handover_list(p_box text, p_units text[], p_statuses text[], p_route text,
    p_cur_us bigint, p_cur_id uuid, p_limit integer, p_person text, p_username text,
    p_address text)
RETURNS TABLE (id uuid, ref text, route text, template text, template_version integer,
    status text, version integer, sender_person text, sender_unit text, receiver_unit text,
    receiver_person text, cpr text, name text, birthdate text, planned_day integer,
    completeness integer, readback text, created_us bigint, updated_us bigint,
    submitted_us bigint, received_us bigint, decided_us bigint, filed boolean, flags jsonb,
    failed_checks jsonb)
-- The generic plan (above: the page by the index alone, the scans that do
-- not apply skipped at run time) is planned once per connection; left to
-- itself the plan cache judged it dearer than a custom plan and planned
-- the query anew at every call (a quarter of the backend's time).
LANGUAGE plpgsql SET plan_cache_mode = force_generic_plan AS $$
#variable_conflict use_column
DECLARE
    -- no cursor: after the newest possible key, so one query serves both
    cur_at timestamptz := COALESCE('epoch'::timestamptz + p_cur_us * interval '1 microsecond',
                                   'infinity'::timestamptz);
    cur_id uuid := COALESCE(p_cur_id, 'ffffffff-ffff-ffff-ffff-ffffffffffff'::uuid);
    inc boolean := p_box IN ('incoming', 'all');
    outg boolean := p_box IN ('outgoing', 'all');
    drafts boolean := p_box = 'drafts';
BEGIN
    INSERT INTO audit_log (actor_id, actor_username, address, action, detail)
    VALUES (p_person, p_username, p_address, 'handover.list', p_box);
    RETURN QUERY
    SELECT h.id, h.ref, h.route, h.template, h.template_version, h.status, h.version,
        h.sender_person, h.sender_unit, h.receiver_unit, h.receiver_person,
        h.citizen->>'cpr', h.citizen->>'name', h.citizen->>'birthdate',
        h.planned_date - DATE '1970-01-01', h.completeness, h.readback,
        (extract(epoch FROM h.created_at) * 1000000)::bigint,
        (extract(epoch FROM h.updated_at) * 1000000)::bigint,
        (extract(epoch FROM h.submitted_at) * 1000000)::bigint,
        (extract(epoch FROM h.received_at) * 1000000)::bigint,
        (extract(epoch FROM h.decided_at) * 1000000)::bigint,
        h.first_submitted_at IS NOT NULL, fl.flags, h.failed_checks
    FROM (SELECT DISTINCT x.id, x.updated_at FROM unnest(p_units) AS u(code)
          CROSS JOIN LATERAL (
              (SELECT h.id, h.updated_at FROM handovers h
               WHERE inc AND h.receiver_unit = u.code AND h.status <> 'draft'
                 AND h.first_submitted_at IS NOT NULL AND h.deleted_at IS NULL
                 AND (p_statuses IS NULL OR h.status = ANY(p_statuses))
                 AND (p_route IS NULL OR h.route = p_route)
                 AND (h.updated_at, h.id) < (cur_at, cur_id)
               ORDER BY h.updated_at DESC, h.id DESC LIMIT p_limit)
              UNION ALL
              (SELECT h.id, h.updated_at FROM handovers h
               WHERE (outg OR drafts) AND h.sender_unit = u.code AND h.deleted_at IS NULL
                 AND (NOT drafts OR (h.sender_person = p_person AND h.status = 'draft'))
                 AND (p_statuses IS NULL OR h.status = ANY(p_statuses))
                 AND (p_route IS NULL OR h.route = p_route)
                 AND (h.updated_at, h.id) < (cur_at, cur_id)
               ORDER BY h.updated_at DESC, h.id DESC LIMIT p_limit)) AS x
          ORDER BY x.updated_at DESC, x.id DESC LIMIT p_limit) AS page
    JOIN handovers h ON h.id = page.id
    LEFT JOIN LATERAL (
        SELECT jsonb_agg(jsonb_build_object('section', f.section, 'kind', f.kind,
                   'comment', f.comment, 'by', f.by_person, 'at', stafet_ts(f.at),
                   'resolved', f.resolved_at IS NOT NULL,
                   'reply', CASE WHEN f.reply_text IS NULL THEN NULL
                            ELSE jsonb_build_object('text', f.reply_text, 'by', f.reply_by,
                                                    'at', stafet_ts(f.reply_at)) END)
                   ORDER BY f.id) AS flags
        FROM handover_flags f WHERE f.handover_id = h.id) AS fl ON true
    ORDER BY h.updated_at DESC, h.id DESC;
END
$$;

-- handover_write() as in 0004, and p_body: whether the note it returns
-- carries its sections and checks. A submit does not change the sections
-- and stafetd has just computed the checks it writes, so it asks without:
-- 14 KB less JSON built here and parsed again in stafetd per submit.
DROP FUNCTION handover_write(uuid, integer, text, text, text, text, jsonb, jsonb, jsonb, jsonb);
CREATE FUNCTION handover_write(p_id uuid, p_expect integer, p_by text, p_username text,
    p_address text, p_action text, p_head jsonb, p_detail jsonb, p_flags jsonb,
    p_outbox jsonb, p_body boolean DEFAULT true)
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
    RETURN handover_json(h, p_body);
END
$$;

-- A note as stafetd loads it before it reads or changes it (NULL when
-- there is none or it is a deleted draft): handover_json(h, true), or
-- without the stored checks but with the sections (p_body false: an
-- action, which answers the note its write returns). A function, so that
-- its query is planned once per connection: planned as a statement of its
-- own, every load weighed the table's dozen indexes anew.
CREATE FUNCTION handover_load(p_id uuid, p_body boolean) RETURNS jsonb
LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN (SELECT CASE WHEN p_body THEN handover_json(h, true)
                   ELSE handover_json(h, false) || jsonb_build_object('sections', h.sections)
                   END
            FROM handovers h WHERE h.id = p_id AND h.deleted_at IS NULL);
END
$$;
