-- One upload, one match, every URL captured: each further location of a
-- match (a row of match_locations) gets its own capture, like the match's
-- first URL in `captures`: page, screenshot, media hash, manifest, token.
CREATE TABLE location_captures (
    match_id            TEXT NOT NULL,
    candidate_id        TEXT NOT NULL,
    state               TEXT NOT NULL,           -- pending | done | failed
    attempts            INTEGER NOT NULL DEFAULT 0,
    error               TEXT,
    files               TEXT NOT NULL DEFAULT '[]',
    manifest_sha256     TEXT,
    token               BLOB,                    -- RFC 3161 token over the capture manifest
    tsa_url             TEXT,
    tsa_time            TEXT,
    started_at          TEXT,
    finished_at         TEXT,
    created_at          TEXT NOT NULL,
    PRIMARY KEY (match_id, candidate_id),
    FOREIGN KEY (match_id, candidate_id) REFERENCES match_locations (match_id, candidate_id) ON DELETE CASCADE
);

-- An alert may now also be about a new location of an already confirmed
-- match (`location_candidate_id`, NULL for the match's own alert): one row
-- per (match, recipient, channel, location). SQLite cannot drop an inline
-- UNIQUE constraint, so the outbox is rebuilt with the same rows.
CREATE TABLE alerts_new (
    id              TEXT PRIMARY KEY,
    match_id        TEXT NOT NULL REFERENCES matches (id) ON DELETE CASCADE,
    channel         TEXT NOT NULL,           -- 'email' or 'webhook:<kind>:<index>'
    recipient       TEXT NOT NULL,           -- an address, or the webhook URL
    batch           TEXT NOT NULL,           -- the message this alert goes out in
    due_at          TEXT NOT NULL,           -- not before (a digest's time)
    state           TEXT NOT NULL,           -- queued | sending | delivered | failed
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT NOT NULL,
    lease_owner     TEXT,
    lease_expires_at TEXT,
    last_error      TEXT,
    server_response TEXT,                    -- the server's answer to the delivery
    created_at      TEXT NOT NULL,
    delivered_at    TEXT,
    location_candidate_id TEXT REFERENCES candidates (id) ON DELETE CASCADE
);

INSERT INTO alerts_new (id, match_id, channel, recipient, batch, due_at, state, attempts,
    next_attempt_at, lease_owner, lease_expires_at, last_error, server_response, created_at,
    delivered_at)
SELECT id, match_id, channel, recipient, batch, due_at, state, attempts, next_attempt_at,
    lease_owner, lease_expires_at, last_error, server_response, created_at, delivered_at
FROM alerts;

DROP TABLE alerts;
ALTER TABLE alerts_new RENAME TO alerts;

CREATE UNIQUE INDEX alerts_once ON alerts (match_id, recipient, channel, COALESCE(location_candidate_id, ''));
CREATE INDEX alerts_ready ON alerts (state, next_attempt_at);
CREATE INDEX alerts_batch ON alerts (batch);
