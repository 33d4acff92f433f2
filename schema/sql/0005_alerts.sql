-- 0005: alert delivery, reminders and digests.
--
-- outbox (0004) holds every alert. Delivery claims due rows with FOR UPDATE
-- SKIP LOCKED and a lease (lease_until): a daemon that dies holding rows
-- lets them go when the lease runs out, so several daemons on one database
-- send each alert once, and a crash mid-send sends it again with the same
-- Message-ID. `digest` marks rows held for a person's daily digest.

-- A reminder is due once per due point (e.g. the date a note was submitted):
-- the row here is written with the reminder's outbox row, and its key keeps
-- a second one from being written.
CREATE TABLE reminders (
    handover_id  uuid NOT NULL REFERENCES handovers (id),
    kind         text NOT NULL,
    due_point    text NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    outbox_id    bigint,
    PRIMARY KEY (handover_id, kind, due_point)
);

-- A person's choice: alerts one by one (default) or one digest a day.
CREATE TABLE alert_preferences (
    person_id   text PRIMARY KEY,
    digest      boolean NOT NULL DEFAULT false,
    updated_at  timestamptz NOT NULL DEFAULT now()
);

-- Alerts held back for a digest: what the daily mail will list.
CREATE TABLE digest_items (
    id          bigserial PRIMARY KEY,
    person_id   text NOT NULL,
    email       text NOT NULL,
    outbox_id   bigint NOT NULL REFERENCES outbox (id),
    created_at  timestamptz NOT NULL DEFAULT now(),
    digest_id   bigint REFERENCES outbox (id),
    UNIQUE (outbox_id, email)
);
CREATE INDEX digest_items_pending ON digest_items (email) WHERE digest_id IS NULL;

ALTER TABLE outbox ADD COLUMN detail jsonb;           -- reminders: the due date; digests: items
ALTER TABLE outbox DROP CONSTRAINT outbox_state_check;
ALTER TABLE outbox ADD CONSTRAINT outbox_state_check
    CHECK (state IN ('pending', 'sent', 'dead', 'digest'));
CREATE INDEX outbox_state ON outbox (state, id);

-- The days whose digests were made: once a day, however many daemons.
CREATE TABLE digest_runs (
    day     date PRIMARY KEY,
    at      timestamptz NOT NULL DEFAULT now(),
    mails   integer NOT NULL DEFAULT 0
);

-- The daily digests of p_day: one outbox row per address with items held
-- for it; the items point at it. Serialised by an advisory lock and made
-- at most once a day (digest_runs), however many daemons ask.
CREATE FUNCTION alert_make_digests(p_day date) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    r record;
    n integer := 0;
    d bigint;
BEGIN
    PERFORM pg_advisory_xact_lock(7335001);
    INSERT INTO digest_runs (day) VALUES (p_day) ON CONFLICT DO NOTHING;
    IF NOT FOUND THEN
        RETURN 0;
    END IF;
    FOR r IN
        SELECT di.email, min(di.person_id) AS person_id, array_agg(di.id) AS ids,
               jsonb_agg(jsonb_build_object('event', o.event, 'id', h.id, 'ref', h.ref,
                   'route', h.route, 'status', h.status) ORDER BY di.id) AS items
        FROM digest_items di
        JOIN outbox o ON o.id = di.outbox_id
        LEFT JOIN handovers h ON h.id = o.handover_id
        WHERE di.digest_id IS NULL
        GROUP BY di.email
    LOOP
        INSERT INTO outbox (event, audience, recipients, message_id, detail)
        VALUES ('digest', '[]',
                jsonb_build_array(jsonb_build_object('email', r.email, 'person', r.person_id)),
                '<' || gen_random_uuid()::text || '@stafet>',
                jsonb_build_object('items', r.items))
        RETURNING id INTO d;
        UPDATE digest_items SET digest_id = d WHERE id = ANY (r.ids) AND digest_id IS NULL;
        n := n + 1;
    END LOOP;
    UPDATE digest_runs SET mails = n WHERE day = p_day;
    RETURN n;
END
$$;
