-- Videos uploaded to the dashboard or the API for registration. The file is
-- kept under the data dir and becomes the work's file; a `register` job
-- fingerprints it (its progress is stored here) and creates the work with
-- the upload's id, so a retried job finds the work it already made.
CREATE TABLE uploads (
    id               TEXT PRIMARY KEY,
    title            TEXT NOT NULL,
    owner            TEXT,
    rights_statement TEXT,
    file_name        TEXT NOT NULL,     -- as the uploader named it
    path             TEXT NOT NULL,     -- where it is kept
    size_bytes       BIGINT NOT NULL,
    state            TEXT NOT NULL,     -- queued | fingerprinting | ready | failed
    progress         DOUBLE PRECISION NOT NULL, -- 0 to 1
    error            TEXT,
    work_id          TEXT REFERENCES works (id) ON DELETE SET NULL,
    uploaded_by      TEXT,              -- the token's name
    created_at       TEXT NOT NULL,
    updated_at       TEXT NOT NULL
);

CREATE INDEX uploads_created ON uploads (created_at);
