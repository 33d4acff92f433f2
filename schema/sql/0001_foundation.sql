-- 0001: the migration ledger itself. stafetd --migrate applies each file in
-- one transaction together with its row here; the daemon compares the highest
-- version with the one it was built for.
CREATE TABLE schema_migrations (
    version     integer PRIMARY KEY,
    name        text NOT NULL,
    checksum    text NOT NULL,
    applied_at  timestamptz NOT NULL DEFAULT now()
);
