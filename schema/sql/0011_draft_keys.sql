-- 0011: a key per user for the copy of an unsaved note that the browser
-- keeps while offline or logged out (issue 20: nothing typed is lost to an
-- expired session). The web UI encrypts that copy with AES-GCM under this
-- key, which GET /api/v1/me hands to the logged-in user only, so the copy in
-- the browser's storage can be read after that same user logs in again and
-- by no other user of the same computer. The key is random (stafetd draws
-- it at the user's first GET /me) and never changes; deleting a row makes
-- that user's local copies unreadable, nothing more.
CREATE TABLE draft_keys (
    person_id   text PRIMARY KEY,
    key         bytea NOT NULL CHECK (length(key) = 32),
    created_at  timestamptz NOT NULL DEFAULT now()
);
