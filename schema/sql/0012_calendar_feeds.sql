-- 0012: a user's deadline calendar (issue 21, API.md 1.1 "Exports").
--
-- POST /api/v1/me/calendar draws a secret address, /cal/{secret}.ics,
-- that a calendar program (Outlook) fetches without a session. Only the
-- SHA-256 of the secret is kept, like a session token's (0002): the
-- database alone cannot give the address away. One feed per person: a new
-- secret replaces the old one (which stops working at once), DELETE
-- removes it. The feed itself is made when it is fetched, from the notes
-- the person's own units send and receive (api/calendar.c); nothing of it
-- is stored here.
CREATE TABLE calendar_feeds (
    person_id    text PRIMARY KEY,
    secret_hash  bytea NOT NULL UNIQUE CHECK (octet_length(secret_hash) = 32),
    created_at   timestamptz NOT NULL DEFAULT now()
);
