-- PostgreSQL twin of migrations/sqlite/0013_location_captures.sql: the same tables and columns
-- (tests check it), with BIGINT for INTEGER, BYTEA for BLOB, and byte-order
-- ("C") collation on text so ids and RFC 3339 times sort as on SQLite.

-- One upload, one match, every URL captured: each further location of a
-- match (a row of match_locations) gets its own capture, like the match's
-- first URL in `captures`: page, screenshot, media hash, manifest, token.
CREATE TABLE location_captures (
    match_id            TEXT COLLATE "C" NOT NULL,
    candidate_id        TEXT COLLATE "C" NOT NULL,
    state               TEXT COLLATE "C" NOT NULL,           -- pending | done | failed
    attempts            BIGINT NOT NULL DEFAULT 0,
    error               TEXT COLLATE "C",
    files               TEXT COLLATE "C" NOT NULL DEFAULT '[]',
    manifest_sha256     TEXT COLLATE "C",
    token               BYTEA,                    -- RFC 3161 token over the capture manifest
    tsa_url             TEXT COLLATE "C",
    tsa_time            TEXT COLLATE "C",
    started_at          TEXT COLLATE "C",
    finished_at         TEXT COLLATE "C",
    created_at          TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (match_id, candidate_id),
    FOREIGN KEY (match_id, candidate_id) REFERENCES match_locations (match_id, candidate_id) ON DELETE CASCADE
);

-- An alert may now also be about a new location of an already confirmed
-- match (`location_candidate_id`, NULL for the match's own alert): one row
-- per (match, recipient, channel, location).
ALTER TABLE alerts ADD COLUMN location_candidate_id TEXT COLLATE "C" REFERENCES candidates (id) ON DELETE CASCADE;
ALTER TABLE alerts DROP CONSTRAINT alerts_match_id_recipient_channel_key;
CREATE UNIQUE INDEX alerts_once ON alerts (match_id, recipient, channel, COALESCE(location_candidate_id, ''));
