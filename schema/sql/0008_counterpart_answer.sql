-- 0008: what one counterpart answer needs (issue 19, API.md "Counterparts:
-- one answer").
--
-- Continuity: a lookup asks whether one of the equal colleagues already
-- received a note for the same citizen. The note keeps the CPR number in
-- `citizen` (jsonb); the lookup compares a SHA-256 of its ten digits
-- instead, computed here from the stored number and by stafetd from the
-- lookup's (which wipes the number at once), so the number itself is never
-- a query parameter, never in a statement log and never kept in memory.
-- NULL where the note has no valid number (a draft may hold anything).
CREATE FUNCTION stafet_citizen_key(citizen jsonb) RETURNS bytea
    LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN d ~ '^[0-9]{10}$' THEN sha256(decode(d, 'escape')) END
      FROM (SELECT replace(citizen->>'cpr', '-', '') AS d) AS x
$$;

ALTER TABLE handovers
    ADD COLUMN citizen_key bytea GENERATED ALWAYS AS (stafet_citizen_key(citizen)) STORED;

-- Continuity: the notes a colleague received for a citizen (not drafts,
-- not withdrawn ones: those never reached anyone).
CREATE INDEX handovers_continuity ON handovers (citizen_key, receiver_person)
    WHERE citizen_key IS NOT NULL AND receiver_person IS NOT NULL
      AND status NOT IN ('draft', 'withdrawn');
-- Load: the open notes on a colleague's desk (submitted, received, or
-- returned and waiting for the sender's new submit).
CREATE INDEX handovers_open_by_receiver ON handovers (receiver_person)
    WHERE status IN ('submitted', 'received', 'returned');

-- The shipped routes gain their age windows (rules.ages: [min, max] years
-- on the lookup's date; outside it the answer asks whether the CPR number
-- is right). Only where the route is still there and has none.
UPDATE routes SET rules = rules || '{"ages": [15, 18]}'
 WHERE code = 'BUR-UR' AND NOT rules ? 'ages';
UPDATE routes SET rules = rules || '{"ages": [16, 18]}'
 WHERE code IN ('BURH-AEHF', 'BURH-BSF') AND NOT rules ? 'ages';
