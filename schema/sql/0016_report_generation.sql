-- 0016: a version of the quality report's figures, for the answers stafetd
-- keeps (api/reports_cache.c).
--
-- GET /api/v1/reports/quality reads report_dists and report_deltas
-- (report_quality, 0015). A cached answer is served only when the version
-- read at the request equals the one it was stored under, so the version
-- must change whenever what those two tables show changes:
--
-- - report_deltas rows are inserted by the writers' transactions
--   (report_refresh, at commit): each such commit adds rows, so the number
--   of rows grows. Nothing updates them; only report_compact() deletes them.
-- - report_compact() deletes the deltas it folds and rewrites report_dists'
--   rows; the backfills (0015's, the benches') truncate and fill both.
--   Every such statement bumps report_generation (statement triggers
--   below), in the same transaction.
--
-- So (generation, count(*) FROM report_deltas), read in one statement (one
-- snapshot), names one state: within a generation the state only gains
-- delta rows, and the generation only grows. Neither goes back, so an
-- answer computed from a snapshot taken after the version was read holds
-- that state or a newer one. report_deltas_seq is no version: nextval() is
-- not undone when a transaction rolls back, and is called before commit.
--
-- The bump does not make writers wait: report_compact() runs only under
-- its try-advisory-lock (one transaction at a time; the others skip it),
-- and the backfills are maintenance.
CREATE TABLE report_generation (
    one            boolean PRIMARY KEY DEFAULT true CHECK (one),
    generation     bigint NOT NULL
);
INSERT INTO report_generation VALUES (true, 1);

CREATE FUNCTION report_generation_bump() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE report_generation SET generation = generation + 1;
    RETURN NULL;
END
$$;

CREATE TRIGGER report_dists_generation
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON report_dists
    FOR EACH STATEMENT EXECUTE FUNCTION report_generation_bump();
-- Inserts into report_deltas are counted, not bumped: the writers' commits
-- would all wait for one row.
CREATE TRIGGER report_deltas_generation
    AFTER UPDATE OR DELETE OR TRUNCATE ON report_deltas
    FOR EACH STATEMENT EXECUTE FUNCTION report_generation_bump();

-- Audits a read of the quality report (the row audit_record() wrote
-- before: action 'report.quality', no object, no detail) and returns the
-- figures' version, so that an answer stafetd keeps costs this one
-- statement.
CREATE FUNCTION report_version(p_actor_id text, p_actor_username text, p_address text,
    OUT o_generation bigint, OUT o_deltas bigint)
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO audit_log (actor_id, actor_username, address, action)
    VALUES (p_actor_id, p_actor_username, p_address, 'report.quality');
    SELECT g.generation, (SELECT count(*) FROM report_deltas)
    INTO o_generation, o_deltas
    FROM report_generation g;
END
$$;
