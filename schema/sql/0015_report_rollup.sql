-- 0015: the quality report's figures kept as notes change (issue 23).
--
-- GET /api/v1/reports/quality used to scan every note filed in its range
-- with a per-note check for a return and a notice (450 ms at 100,000
-- notes). Now each filed note's contribution to the figures is kept in
-- report_notes (one row a note: its filing date, route and units, whether
-- it was returned, accepted, the working days to acceptance, the lead time
-- from its notice, its flags' sections), and the sum of those
-- contributions in report_dists, a row per (grain, bucket, route, sending
-- unit, receiving unit, kind, section) holding the distribution of the
-- values as arrays (report_items: one row a value), at three grains: the
-- day, the month and the quarter of filing. A report over from..to reads whole quarters from the
-- quarter rows, whole months at the edges from the month rows and the
-- remaining days from the day rows (report_quality): its cost follows the
-- calendar and the routes, not the number of notes.
--
-- Kinds (n is a count of notes, except for flags): 'F' filed, 'R' returned
-- at least once, 'A' accepted, 'S' accepted with a notice six months or
-- more before, 'W' accepted with val working days to acceptance (cg, cj,
-- cn: the optional days off crossed, see report_workdays), 'L' accepted
-- after a notice val days before, 'X' flags set on section (every flag
-- ever set, resolved or not).
--
-- Deferred constraint triggers on the tables whose changes move a figure
-- (handovers, handover_events, handover_flags, notices) recompute a note's
-- contribution from those tables at commit (report_refresh), so a
-- transaction that changes a note in several statements does it once, and
-- append the difference to report_deltas: rows only inserted, never
-- updated, so notes filed the same day on the same route and units do not
-- wait for each other on shared rows (they did, when the difference was
-- added to report_items in place: pgbench -c32, toggling acceptance on
-- such notes, ran at 9 % of its rate without the triggers). Every 32nd
-- refresh also folds the committed deltas into report_dists
-- (report_compact, one at a time); a report reads report_dists and
-- report_deltas in one snapshot, so it is exact whether or not the deltas
-- were folded yet. The state-changing code does nothing of its own.

-- Easter Sunday (the anonymous Gregorian algorithm, as handover/workdays.c).
CREATE FUNCTION report_easter(y integer) RETURNS date
LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    a int := y % 19; b int := y / 100; c int := y % 100;
    d int; e int; f int; g int; h int; i int; k int; l int; m int;
BEGIN
    d := b / 4; e := b % 4; f := (b + 8) / 25; g := (b - f + 1) / 3;
    h := (19 * a + b - d - g + 15) % 30; i := c / 4; k := c % 4;
    l := (32 + 2 * e + 2 * i - h - k) % 7; m := (a + 11 * h + 22 * l) / 451;
    RETURN make_date(y, (h + l - 7 * m + 114) / 31, (h + l - 7 * m + 114) % 31 + 1);
END
$$;

-- Monday to Friday among the days before d, counted from a Monday; only
-- differences of it mean anything (workdays.c's weekdays_before).
CREATE FUNCTION report_weekdays_before(d date) RETURNS integer
LANGUAGE sql IMMUTABLE AS $$
    SELECT (q * 5 + least(n - q * 7, 5))::int
    FROM (SELECT n, floor(n / 7.0)::int AS q
          FROM (SELECT d - date '1970-01-05' AS n) a) b
$$;

-- The working days after f up to and including a as workdays_between()
-- counts them without the optional days off, and how many of each optional
-- day off (grundlovsdag, juleaftensdag, nytårsaftensdag) that would
-- otherwise be a working day lie in between: {w, cg, cj, cn}; the report
-- subtracts those the configuration names. NULL when a date is outside
-- 1900-2200 (workdays_between's -1: such a note is left out of the
-- median).
CREATE FUNCTION report_workdays(f date, a date) RETURNS integer[]
LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    w int; cg int := 0; cj int := 0; cn int := 0;
    e date; day date;
BEGIN
    IF f IS NULL OR a IS NULL OR f < date '1900-01-01' OR a < date '1900-01-01'
       OR f > date '2200-12-31' OR a > date '2200-12-31' THEN
        RETURN NULL;
    END IF;
    IF a <= f THEN
        RETURN ARRAY[0, 0, 0, 0];
    END IF;
    w := report_weekdays_before(a + 1) - report_weekdays_before(f + 1);
    FOR y IN extract(year FROM f)::int .. extract(year FROM a)::int LOOP
        e := report_easter(y);
        FOREACH day IN ARRAY ARRAY[make_date(y, 1, 1), e - 3, e - 2, e, e + 1,
                 CASE WHEN y <= 2023 THEN e + 26 END, e + 39, e + 49, e + 50,
                 make_date(y, 12, 25), make_date(y, 12, 26)] LOOP
            IF day > f AND day <= a AND extract(isodow FROM day) <= 5 THEN
                w := w - 1;
            END IF;
        END LOOP;
        day := make_date(y, 6, 5);
        IF day > f AND day <= a AND extract(isodow FROM day) <= 5 AND day <> e + 50 THEN
            cg := cg + 1;
        END IF;
        day := make_date(y, 12, 24);
        IF day > f AND day <= a AND extract(isodow FROM day) <= 5 THEN
            cj := cj + 1;
        END IF;
        day := make_date(y, 12, 31);
        IF day > f AND day <= a AND extract(isodow FROM day) <= 5 THEN
            cn := cn + 1;
        END IF;
    END LOOP;
    RETURN ARRAY[w, cg, cj, cn];
END
$$;

-- One filed note's contribution, as report_note() computes it.
CREATE TABLE report_notes (
    handover_id    uuid PRIMARY KEY,
    filed          date NOT NULL,     -- first_submitted_at, Copenhagen's date
    route          text NOT NULL,
    sender_unit    text NOT NULL,
    receiver_unit  text NOT NULL,
    returned       boolean NOT NULL,  -- any 'return' event
    accepted       boolean NOT NULL,  -- status 'accepted' with decided_at
    workdays       integer[],         -- report_workdays(filed, accepted date)
    lead           integer,           -- days from the first notice to acceptance, >= 0
    noticed6       boolean NOT NULL,  -- that notice on or before acceptance - 6 months
    flags          text[] NOT NULL    -- the sections of its flags, sorted
);

-- One row a (grain, bucket, route, units, kind, section): the
-- distribution of the notes' values as parallel arrays sorted by (val, cg,
-- cj, cn), each entry's count n > 0 (for kinds without a value, one entry
-- of val 0), so a report reads a row per key in range whatever the number
-- of distinct values (the lead times spread over hundreds of days).
CREATE TABLE report_dists (
    grain          "char" NOT NULL CHECK (grain IN ('d', 'm', 'q')),
    bucket         date NOT NULL,     -- the day, or the first day of the month or quarter
    quarter        date NOT NULL,     -- the first day of the bucket's quarter (the period)
    route          text NOT NULL,
    sender_unit    text NOT NULL,
    receiver_unit  text NOT NULL,
    kind           "char" NOT NULL CHECK (kind IN ('F', 'R', 'A', 'S', 'W', 'L', 'X')),
    section        text NOT NULL,
    vals           integer[] NOT NULL,
    cgs            integer[] NOT NULL,
    cjs            integer[] NOT NULL,
    cns            integer[] NOT NULL,
    ns             bigint[] NOT NULL,
    PRIMARY KEY (grain, bucket, route, sender_unit, receiver_unit, kind, section)
);

-- The sums one row a value (report_dists' entries).
CREATE VIEW report_items AS
    SELECT d.grain, d.bucket, d.quarter, d.route, d.sender_unit, d.receiver_unit, d.kind,
        u.val, u.cg, u.cj, u.cn, d.section, u.n
    FROM report_dists d
    CROSS JOIN LATERAL unnest(d.vals, d.cgs, d.cjs, d.cns, d.ns) u (val, cg, cj, cn, n);

-- Differences not yet folded into report_dists (report_compact), one row
-- a value; n may be negative, and a key may repeat.
CREATE TABLE report_deltas (
    grain          "char" NOT NULL,
    bucket         date NOT NULL,
    quarter        date NOT NULL,
    route          text NOT NULL,
    sender_unit    text NOT NULL,
    receiver_unit  text NOT NULL,
    kind           "char" NOT NULL,
    val            integer NOT NULL,
    cg             integer NOT NULL,
    cj             integer NOT NULL,
    cn             integer NOT NULL,
    section        text NOT NULL,
    n              bigint NOT NULL
);

CREATE SEQUENCE report_deltas_seq;

-- report_items with the pending differences: summed per key, the figures.
CREATE VIEW report_all AS
    SELECT * FROM report_items
    UNION ALL
    SELECT * FROM report_deltas;

-- A note's first notice is looked up at every change of the note.
CREATE INDEX notices_handover ON notices (handover_id, created_at)
    WHERE handover_id IS NOT NULL;

-- Every filed note's contribution as the tables say it now (report_notes'
-- columns, in its order).
CREATE VIEW report_note_rows AS
    SELECT x.id AS handover_id, x.filed, x.route, x.sender_unit, x.receiver_unit, x.returned,
        x.accepted,
        CASE WHEN x.accepted THEN report_workdays(x.filed, x.acc) END AS workdays,
        CASE WHEN x.accepted AND x.noticed IS NOT NULL THEN greatest(x.acc - x.noticed, 0)
        END AS lead,
        COALESCE(x.accepted AND x.noticed <= (x.acc - interval '6 months')::date, false)
            AS noticed6,
        x.flags
    FROM (SELECT h.id, h.route, h.sender_unit, h.receiver_unit,
            (h.first_submitted_at AT TIME ZONE 'Europe/Copenhagen')::date AS filed,
            h.status = 'accepted' AND h.decided_at IS NOT NULL AS accepted,
            (h.decided_at AT TIME ZONE 'Europe/Copenhagen')::date AS acc,
            EXISTS (SELECT 1 FROM handover_events e
                    WHERE e.handover_id = h.id AND e.action = 'return') AS returned,
            (SELECT (min(nt.created_at) AT TIME ZONE 'Europe/Copenhagen')::date
             FROM notices nt WHERE nt.handover_id = h.id) AS noticed,
            ARRAY(SELECT fl.section FROM handover_flags fl WHERE fl.handover_id = h.id
                  ORDER BY fl.section COLLATE "C") AS flags
          FROM handovers h
          WHERE h.first_submitted_at IS NOT NULL) x;

-- One note's, or a row of NULLs when it was never filed (or is gone).
-- PL/pgSQL: a SQL function called in a select list is planned again at
-- every call, which was half of what a trigger cost.
CREATE FUNCTION report_note(p_id uuid) RETURNS report_notes
LANGUAGE plpgsql STABLE AS $$
DECLARE
    r report_notes;
BEGIN
    SELECT * INTO r FROM report_note_rows WHERE handover_id = p_id;
    RETURN r;
END
$$;

-- The rows of report_items a note adds (n > 0), at the three grains; none
-- for a row of NULLs. A single SELECT in SQL, so that it is inlined into
-- the statement that calls it in FROM (report_refresh's INSERT, planned
-- once per connection), not planned at each call.
CREATE FUNCTION report_items_of(r report_notes)
RETURNS TABLE (grain "char", bucket date, quarter date, route text, sender_unit text,
    receiver_unit text, kind "char", val integer, cg integer, cj integer, cn integer,
    section text, n bigint)
LANGUAGE sql IMMUTABLE AS $$
    SELECT g.grain, g.bucket, date_trunc('quarter', r.filed)::date, r.route, r.sender_unit,
        r.receiver_unit, i.kind, i.val, i.cg, i.cj, i.cn, i.section, i.n
    FROM (VALUES ('d'::"char", r.filed),
                 ('m', date_trunc('month', r.filed)::date),
                 ('q', date_trunc('quarter', r.filed)::date)) g (grain, bucket)
    CROSS JOIN (
        SELECT 'F'::"char" AS kind, 0 AS val, 0 AS cg, 0 AS cj, 0 AS cn, '' AS section,
            1::bigint AS n
        UNION ALL SELECT 'R', 0, 0, 0, 0, '', 1 WHERE r.returned
        UNION ALL SELECT 'A', 0, 0, 0, 0, '', 1 WHERE r.accepted
        UNION ALL SELECT 'S', 0, 0, 0, 0, '', 1 WHERE r.noticed6
        UNION ALL SELECT 'W', r.workdays[1], r.workdays[2], r.workdays[3], r.workdays[4], '', 1
            WHERE r.workdays IS NOT NULL
        UNION ALL SELECT 'L', r.lead, 0, 0, 0, '', 1 WHERE r.lead IS NOT NULL
        UNION ALL SELECT 'X', 0, 0, 0, 0, f.s, count(*) FROM unnest(r.flags) f (s) GROUP BY f.s
    ) i
    WHERE r.handover_id IS NOT NULL
$$;

-- Folds the committed differences in report_deltas into report_dists in
-- one statement: the rows of the keys they touch are taken out, their
-- entries and the differences summed per value (those at zero left out)
-- and the keys written back in order, if no other transaction is doing it
-- (the advisory lock: a second one would only wait for the first's rows).
CREATE FUNCTION report_compact() RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    IF NOT pg_try_advisory_xact_lock(7335016) THEN
        RETURN;
    END IF;
    WITH d AS (
        DELETE FROM report_deltas RETURNING *
    ), k AS (
        SELECT DISTINCT d.grain, d.bucket, d.route, d.sender_unit, d.receiver_unit, d.kind,
            d.section
        FROM d
    ), o AS (
        DELETE FROM report_dists t USING k
        WHERE t.grain = k.grain AND t.bucket = k.bucket AND t.route = k.route
          AND t.sender_unit = k.sender_unit AND t.receiver_unit = k.receiver_unit
          AND t.kind = k.kind AND t.section = k.section
        RETURNING t.*
    ), e AS (
        SELECT o.grain, o.bucket, o.quarter, o.route, o.sender_unit, o.receiver_unit, o.kind,
            u.val, u.cg, u.cj, u.cn, o.section, u.n
        FROM o CROSS JOIN LATERAL unnest(o.vals, o.cgs, o.cjs, o.cns, o.ns) u (val, cg, cj, cn, n)
        UNION ALL
        SELECT d.grain, d.bucket, d.quarter, d.route, d.sender_unit, d.receiver_unit, d.kind,
            d.val, d.cg, d.cj, d.cn, d.section, d.n
        FROM d
    ), s AS (
        SELECT e.grain, e.bucket, e.quarter, e.route, e.sender_unit, e.receiver_unit, e.kind,
            e.val, e.cg, e.cj, e.cn, e.section, sum(e.n)::bigint AS n
        FROM e
        GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12
        HAVING sum(e.n) <> 0
    )
    INSERT INTO report_dists
    SELECT s.grain, s.bucket, s.quarter, s.route, s.sender_unit, s.receiver_unit, s.kind,
        s.section,
        array_agg(s.val ORDER BY s.val, s.cg, s.cj, s.cn),
        array_agg(s.cg ORDER BY s.val, s.cg, s.cj, s.cn),
        array_agg(s.cj ORDER BY s.val, s.cg, s.cj, s.cn),
        array_agg(s.cn ORDER BY s.val, s.cg, s.cj, s.cn),
        array_agg(s.n ORDER BY s.val, s.cg, s.cj, s.cn)
    FROM s
    GROUP BY 1, 2, 3, 4, 5, 6, 7, 8
    ORDER BY 1, 2, 4, 5, 6, 7, 8;
END
$$;

-- Brings a note's contribution up to date: the difference between what
-- report_notes holds and what the tables now say, appended to
-- report_deltas (no row of another note's is locked), and every 32nd time
-- the deltas folded into report_dists.
CREATE FUNCTION report_refresh(p_id uuid) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    old_r report_notes;
    new_r report_notes;
    refreshes bigint;
BEGIN
    -- one refresh of a note at a time (FOR NO KEY UPDATE: as an UPDATE of
    -- the note does, so no deadlock with the foreign keys' KEY SHARE locks)
    PERFORM 1 FROM handovers WHERE id = p_id FOR NO KEY UPDATE;
    SELECT * INTO old_r FROM report_notes WHERE handover_id = p_id FOR UPDATE;
    new_r := report_note(p_id);
    IF old_r IS NOT DISTINCT FROM new_r
       OR (old_r.handover_id IS NULL AND new_r.handover_id IS NULL) THEN
        RETURN;
    END IF;
    INSERT INTO report_deltas
    SELECT d.grain, d.bucket, d.quarter, d.route, d.sender_unit, d.receiver_unit, d.kind,
        d.val, d.cg, d.cj, d.cn, d.section, sum(d.n)
    FROM (SELECT * FROM report_items_of(new_r)
          UNION ALL
          SELECT o.grain, o.bucket, o.quarter, o.route, o.sender_unit, o.receiver_unit, o.kind,
              o.val, o.cg, o.cj, o.cn, o.section, -o.n
          FROM report_items_of(old_r) o) d
    GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12
    HAVING sum(d.n) <> 0;
    -- A transaction that refreshes many notes (a bulk load, an import of
    -- notices) folds only every 4,096th time: the rows each fold deletes
    -- stay in the table, dead, until the transaction ends, and every fold
    -- would read them all again (quadratic: a 100,000-note INSERT did not
    -- finish in 5 minutes). Its deltas are folded by the next fold.
    refreshes := coalesce(nullif(current_setting('stafet.report_refreshes', true), ''),
                          '0')::bigint + 1;
    PERFORM set_config('stafet.report_refreshes', refreshes::text, true);
    IF (refreshes <= 64 AND nextval('report_deltas_seq') % 32 = 0)
       OR refreshes % 4096 = 0 THEN
        PERFORM report_compact();
    END IF;
    IF new_r.handover_id IS NULL THEN
        DELETE FROM report_notes WHERE handover_id = p_id;
    ELSIF old_r.handover_id IS NULL THEN
        INSERT INTO report_notes SELECT new_r.*;
    ELSE
        UPDATE report_notes SET filed = new_r.filed, route = new_r.route,
            sender_unit = new_r.sender_unit, receiver_unit = new_r.receiver_unit,
            returned = new_r.returned, accepted = new_r.accepted,
            workdays = new_r.workdays, lead = new_r.lead, noticed6 = new_r.noticed6,
            flags = new_r.flags
        WHERE handover_id = p_id;
    END IF;
END
$$;

CREATE FUNCTION report_handover_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM report_refresh(CASE WHEN TG_OP = 'DELETE' THEN OLD.id ELSE NEW.id END);
    RETURN NULL;
END
$$;

-- handover_events, handover_flags, notices: the note the row is about (or
-- was, before an UPDATE moved it).
CREATE FUNCTION report_child_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'INSERT' AND OLD.handover_id IS NOT NULL THEN
        PERFORM report_refresh(OLD.handover_id);
    END IF;
    IF TG_OP <> 'DELETE' AND NEW.handover_id IS NOT NULL
       AND (TG_OP = 'INSERT' OR NEW.handover_id IS DISTINCT FROM OLD.handover_id) THEN
        PERFORM report_refresh(NEW.handover_id);
    END IF;
    RETURN NULL;
END
$$;

CREATE CONSTRAINT TRIGGER report_handovers_insert AFTER INSERT ON handovers
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
    WHEN (NEW.first_submitted_at IS NOT NULL)
    EXECUTE FUNCTION report_handover_changed();
CREATE CONSTRAINT TRIGGER report_handovers_update AFTER UPDATE ON handovers
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
    WHEN ((OLD.first_submitted_at, OLD.route, OLD.sender_unit, OLD.receiver_unit,
           OLD.status = 'accepted', CASE WHEN OLD.status = 'accepted' THEN OLD.decided_at END)
          IS DISTINCT FROM
          (NEW.first_submitted_at, NEW.route, NEW.sender_unit, NEW.receiver_unit,
           NEW.status = 'accepted', CASE WHEN NEW.status = 'accepted' THEN NEW.decided_at END))
    EXECUTE FUNCTION report_handover_changed();
CREATE CONSTRAINT TRIGGER report_handovers_delete AFTER DELETE ON handovers
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
    WHEN (OLD.first_submitted_at IS NOT NULL)
    EXECUTE FUNCTION report_handover_changed();

CREATE CONSTRAINT TRIGGER report_events_insert AFTER INSERT ON handover_events
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
    WHEN (NEW.action = 'return')
    EXECUTE FUNCTION report_child_changed();

CREATE CONSTRAINT TRIGGER report_flags_insert AFTER INSERT ON handover_flags
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
    EXECUTE FUNCTION report_child_changed();
CREATE CONSTRAINT TRIGGER report_flags_update AFTER UPDATE ON handover_flags
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
    WHEN (OLD.handover_id IS DISTINCT FROM NEW.handover_id OR OLD.section IS DISTINCT FROM NEW.section)
    EXECUTE FUNCTION report_child_changed();
CREATE CONSTRAINT TRIGGER report_flags_delete AFTER DELETE ON handover_flags
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
    EXECUTE FUNCTION report_child_changed();

CREATE CONSTRAINT TRIGGER report_notices_insert AFTER INSERT ON notices
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
    WHEN (NEW.handover_id IS NOT NULL)
    EXECUTE FUNCTION report_child_changed();
CREATE CONSTRAINT TRIGGER report_notices_update AFTER UPDATE ON notices
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
    WHEN (OLD.handover_id IS DISTINCT FROM NEW.handover_id
          OR (NEW.handover_id IS NOT NULL AND OLD.created_at IS DISTINCT FROM NEW.created_at))
    EXECUTE FUNCTION report_child_changed();
CREATE CONSTRAINT TRIGGER report_notices_delete AFTER DELETE ON notices
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
    WHEN (OLD.handover_id IS NOT NULL)
    EXECUTE FUNCTION report_child_changed();

-- The quality report's figures over from..to (local dates of filing), for
-- a route (or all) and the notes whose sending or receiving unit is one of
-- p_units (or all): whole quarters from the quarter rows, the whole months
-- left at either edge from the month rows, the days left from the day rows
-- (five index ranges; an empty one reads nothing), each row a key's
-- distribution as report_dists holds it, and the differences not yet
-- folded in (report_deltas, a few hundred rows at most) as rows of one
-- entry whose count may be negative: api/reports.c sums them per
-- (quarter, route, kind, value, section) and takes the optional days off
-- from the working days. Not summed here: a few hundred rows of arrays
-- are read in a fraction of what grouping the thousands of (value) rows
-- cost. PL/pgSQL, so that each connection plans it once; JIT off: it reads
-- a few thousand rows at most, and compiling would cost more than that
-- (the full scan it replaced had its estimate high enough to start JIT
-- past a few thousand notes: 52-84 ms with, 34-39 ms without, at 9,000).
CREATE FUNCTION report_quality(p_from date, p_to date, p_route text, p_units text[])
RETURNS TABLE (o_quarter date, o_route text, o_kind "char", o_section text, o_vals integer[],
    o_cgs integer[], o_cjs integer[], o_cns integer[], o_ns bigint[])
LANGUAGE plpgsql STABLE SET jit = off AS $$
BEGIN
    RETURN QUERY
    WITH k AS (
        SELECT b.*, b.fm < b.tm AS hasm, b.fq < b.tq AS hasq
        FROM (SELECT a.f, a.t1,
                  (date_trunc('month', a.f - 1) + interval '1 month')::date AS fm,
                  date_trunc('month', a.t1)::date AS tm,
                  (date_trunc('quarter', a.f - 1) + interval '3 months')::date AS fq,
                  date_trunc('quarter', a.t1)::date AS tq
              FROM (SELECT p_from AS f, p_to + 1 AS t1) a) b
    ), a AS NOT MATERIALIZED (
        SELECT i.* FROM report_dists i
        UNION ALL
        SELECT d.grain, d.bucket, d.quarter, d.route, d.sender_unit, d.receiver_unit, d.kind,
            d.section, ARRAY[d.val], ARRAY[d.cg], ARRAY[d.cj], ARRAY[d.cn], ARRAY[d.n]
        FROM report_deltas d
    ), r AS (
        SELECT i.* FROM k, a i
        WHERE i.grain = 'q' AND i.bucket >= k.fq AND i.bucket < k.tq
        UNION ALL
        SELECT i.* FROM k, a i
        WHERE i.grain = 'm' AND i.bucket >= k.fm
          AND i.bucket < CASE WHEN k.hasq THEN k.fq ELSE k.tm END
        UNION ALL
        SELECT i.* FROM k, a i
        WHERE i.grain = 'm' AND i.bucket >= CASE WHEN k.hasq THEN k.tq ELSE k.tm END
          AND i.bucket < k.tm
        UNION ALL
        SELECT i.* FROM k, a i
        WHERE i.grain = 'd' AND i.bucket >= k.f
          AND i.bucket < CASE WHEN k.hasm THEN k.fm ELSE k.t1 END
        UNION ALL
        SELECT i.* FROM k, a i
        WHERE i.grain = 'd' AND i.bucket >= CASE WHEN k.hasm THEN k.tm ELSE k.t1 END
          AND i.bucket < k.t1
    )
    SELECT r.quarter, r.route, r.kind, r.section, r.vals, r.cgs, r.cjs, r.cns, r.ns
    FROM r
    WHERE (p_route IS NULL OR r.route = p_route)
      AND (p_units IS NULL OR r.sender_unit = ANY (p_units) OR r.receiver_unit = ANY (p_units));
END
$$;

-- The notes filed before this migration.
INSERT INTO report_notes SELECT * FROM report_note_rows;
INSERT INTO report_dists
SELECT s.grain, s.bucket, s.quarter, s.route, s.sender_unit, s.receiver_unit, s.kind,
    s.section,
    array_agg(s.val ORDER BY s.val, s.cg, s.cj, s.cn),
    array_agg(s.cg ORDER BY s.val, s.cg, s.cj, s.cn),
    array_agg(s.cj ORDER BY s.val, s.cg, s.cj, s.cn),
    array_agg(s.cn ORDER BY s.val, s.cg, s.cj, s.cn),
    array_agg(s.n ORDER BY s.val, s.cg, s.cj, s.cn)
FROM (SELECT i.grain, i.bucket, i.quarter, i.route, i.sender_unit, i.receiver_unit, i.kind,
          i.val, i.cg, i.cj, i.cn, i.section, sum(i.n)::bigint AS n
      FROM report_notes r CROSS JOIN LATERAL report_items_of(r) i
      GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12) s
GROUP BY 1, 2, 3, 4, 5, 6, 7, 8
ORDER BY 1, 2, 4, 5, 6, 7, 8;
ANALYZE report_notes, report_dists, report_deltas;
