-- Access to the dashboard and the HTTP API: tokens (only the SHA-256 of a
-- token is kept; the token itself is printed once), the server's keys (the
-- key that signs session cookies, shared by every node), and who made each
-- review step. Portable types only, like 0003.

CREATE TABLE tokens (
    id              TEXT PRIMARY KEY,
    name            TEXT NOT NULL,
    role            TEXT NOT NULL,           -- viewer | reviewer | admin
    token_sha256    TEXT NOT NULL,
    created_at      TEXT NOT NULL,
    last_used_at    TEXT,
    revoked_at      TEXT
);

CREATE UNIQUE INDEX tokens_token_sha256 ON tokens (token_sha256);
-- One live token per name: the name is what the audit trail shows.
CREATE UNIQUE INDEX tokens_live_name ON tokens (name) WHERE revoked_at IS NULL;

CREATE TABLE server_keys (
    name            TEXT PRIMARY KEY,
    value           BYTEA NOT NULL,
    created_at      TEXT NOT NULL
);

-- The token name of a review made in the dashboard or the API; NULL for
-- one made on the command line.
ALTER TABLE match_status_history ADD COLUMN actor TEXT;

-- The dashboard's inbox: matches of one status, newest first.
CREATE INDEX matches_status_created ON matches (status, created_at);
