-- Evidence: one capture per match, the review history of a match's status.
-- Portable types only, like 0003.

-- The capture of a match's upload (page, screenshot, PDF, media hash,
-- frame pairs, timeline), sealed by a capture manifest and its RFC 3161
-- token. `files` is a JSON list of {path, sha256, size}; the bytes are
-- content-addressed blobs under <data_dir>/blobs/sha256/.
CREATE TABLE captures (
    match_id            TEXT PRIMARY KEY REFERENCES matches (id) ON DELETE CASCADE,
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
    created_at          TEXT NOT NULL
);

-- Every change of a match's status, with the reviewer's note.
CREATE TABLE match_status_history (
    id                  TEXT PRIMARY KEY,        -- time-ordered (UUID v7)
    match_id            TEXT NOT NULL REFERENCES matches (id) ON DELETE CASCADE,
    from_status         TEXT NOT NULL,
    to_status           TEXT NOT NULL,
    note                TEXT,
    at                  TEXT NOT NULL
);

CREATE INDEX match_status_history_match ON match_status_history (match_id, id);
