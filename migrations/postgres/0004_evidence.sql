-- PostgreSQL twin of migrations/sqlite/0004_evidence.sql: the same tables and columns
-- (tests check it), with BIGINT for INTEGER, BYTEA for BLOB, and byte-order
-- ("C") collation on text so ids and RFC 3339 times sort as on SQLite.

-- Evidence: one capture per match, the review history of a match's status.
-- Portable types only, like 0003.

-- The capture of a match's upload (page, screenshot, PDF, media hash,
-- frame pairs, timeline), sealed by a capture manifest and its RFC 3161
-- token. `files` is a JSON list of {path, sha256, size}; the bytes are
-- content-addressed blobs under <data_dir>/blobs/sha256/.
CREATE TABLE captures (
    match_id            TEXT COLLATE "C" PRIMARY KEY REFERENCES matches (id) ON DELETE CASCADE,
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
    created_at          TEXT COLLATE "C" NOT NULL
);

-- Every change of a match's status, with the reviewer's note.
CREATE TABLE match_status_history (
    id                  TEXT COLLATE "C" PRIMARY KEY,        -- time-ordered (UUID v7)
    match_id            TEXT COLLATE "C" NOT NULL REFERENCES matches (id) ON DELETE CASCADE,
    from_status         TEXT COLLATE "C" NOT NULL,
    to_status           TEXT COLLATE "C" NOT NULL,
    note                TEXT COLLATE "C",
    at                  TEXT COLLATE "C" NOT NULL
);

CREATE INDEX match_status_history_match ON match_status_history (match_id, id);
