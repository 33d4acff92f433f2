-- 0010: the sending side's reply to a flag.
--
-- While a note is returned, the sending side may answer each of the
-- return's flags in a sentence ("Tidsrammen er tilføjet", "Det ved vi
-- ikke endnu, fordi ..."), which the receiving side reads beside the flag
-- when it reviews the resubmitted note. One reply per flag: a new reply
-- replaces the one before, and each is a change of the note like any
-- other (a version, an event with the reply in its detail, an audit row),
-- so the history keeps every reply that was given.

ALTER TABLE handover_flags
    ADD COLUMN reply_text text CHECK (char_length(reply_text) BETWEEN 1 AND 2000),
    ADD COLUMN reply_by   text,
    ADD COLUMN reply_at   timestamptz,
    ADD CONSTRAINT handover_flags_reply_whole
        CHECK ((reply_text IS NULL) = (reply_by IS NULL) AND (reply_text IS NULL) = (reply_at IS NULL));

-- A note's flags, oldest first, each with its reply or null.
CREATE OR REPLACE FUNCTION handover_flags_json(p_id uuid) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT COALESCE(jsonb_agg(jsonb_build_object('section', f.section, 'kind', f.kind,
               'comment', f.comment, 'by', f.by_person, 'at', stafet_ts(f.at),
               'resolved', f.resolved_at IS NOT NULL,
               'reply', CASE WHEN f.reply_text IS NULL THEN NULL
                        ELSE jsonb_build_object('text', f.reply_text, 'by', f.reply_by,
                                                'at', stafet_ts(f.reply_at)) END)
               ORDER BY f.id), '[]')
    FROM handover_flags f WHERE f.handover_id = p_id
$$;

-- The reply to the note's p_index-th flag (0: the oldest), all or nothing:
-- the change of the note through handover_write (only at version p_expect;
-- action "reply", the status unchanged, the flag's index, section and the
-- reply in the event's detail, the audit row), then the reply stored with
-- the flag at the new version's time. Returns the note as handover_json()
-- gives it, or NULL when the note has moved on or has no such flag. Which
-- flag may be answered, by whom and in which state is decided by the
-- caller (api/flags.c).
CREATE FUNCTION handover_flag_reply(p_id uuid, p_expect integer, p_index integer, p_text text,
    p_by text, p_username text, p_address text)
RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
    fid bigint;
    sec text;
    h handovers;
BEGIN
    SELECT f.id, f.section INTO fid, sec FROM handover_flags f
    WHERE f.handover_id = p_id ORDER BY f.id OFFSET p_index LIMIT 1;
    IF NOT FOUND THEN
        RETURN NULL;
    END IF;
    IF handover_write(p_id, p_expect, p_by, p_username, p_address, 'reply', '{}'::jsonb,
                      jsonb_build_object('flag', p_index, 'section', sec, 'reply', p_text),
                      NULL, NULL) IS NULL THEN
        RETURN NULL;
    END IF;
    SELECT * INTO h FROM handovers WHERE id = p_id;
    UPDATE handover_flags SET reply_text = p_text, reply_by = p_by, reply_at = h.updated_at
    WHERE id = fid;
    RETURN handover_json(h, true);
END
$$;
