-- 0009: deleting a draft, and the drafts box (issue 20, API.md 1.1 "Drafts,
-- tasks").
--
-- A draft its sending unit deletes is gone for the API (every list, GET,
-- the tasks, the reminders), but nothing of it is destroyed: the row stays
-- with deleted_at set, and its versions and events stay (append-only, for
-- the audit), with one more of each that records the deletion. Its status
-- stays 'draft', so everything that leaves drafts out (the incoming box,
-- reports, continuity, a colleague's load) leaves it out as before.
ALTER TABLE handovers ADD COLUMN deleted_at timestamptz;

-- The drafts box: one person's own drafts, newest change first.
CREATE INDEX handovers_drafts ON handovers (sender_person, updated_at DESC, id DESC)
    WHERE status = 'draft' AND deleted_at IS NULL;

-- Deletes the draft p_id if it is still a draft at version p_expect: the
-- row marked, a version and an event ('delete', to 'deleted'), the audit
-- row, and the alerts not yet sent about it (a draft's reminder) given up:
-- pending ones dead ('draft deleted'), those held for a digest not yet made
-- taken out of it.
-- Returns the note's ref, or NULL when the note is not such a draft (the
-- caller has judged who may; it reads the row again to tell why).
CREATE FUNCTION handover_delete_draft(p_id uuid, p_expect integer, p_by text,
    p_username text, p_address text)
RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    h handovers;
BEGIN
    UPDATE handovers SET deleted_at = clock_timestamp(), updated_at = clock_timestamp(),
        version = version + 1
    WHERE id = p_id AND version = p_expect AND status = 'draft' AND deleted_at IS NULL
    RETURNING * INTO h;
    IF NOT FOUND THEN
        RETURN NULL;
    END IF;
    INSERT INTO handover_versions (handover_id, version, at, by_person, status, action, doc)
    VALUES (h.id, h.version, h.deleted_at, p_by, 'deleted', 'delete', handover_doc(h));
    INSERT INTO handover_events (handover_id, at, by_person, action, from_status, to_status,
        version)
    VALUES (h.id, h.deleted_at, p_by, 'delete', 'draft', 'deleted', h.version);
    DELETE FROM digest_items di USING outbox o
     WHERE di.outbox_id = o.id AND o.handover_id = h.id AND di.digest_id IS NULL;
    UPDATE outbox SET state = 'dead', lease_until = NULL, last_error = 'draft deleted'
     WHERE handover_id = h.id AND state = 'pending';
    INSERT INTO audit_log (actor_id, actor_username, address, action, object_type, object_id,
        detail)
    VALUES (p_by, p_username, p_address, 'handover.delete', 'handover', h.id::text, h.ref);
    RETURN h.ref;
END
$$;
