-- Registered works and their frame fingerprints.
-- Portable types only (TEXT, INTEGER, DOUBLE PRECISION, a binary column) so
-- the PostgreSQL migrations mirror this file with BYTEA for BLOB.

CREATE TABLE works (
    id              TEXT PRIMARY KEY,
    title           TEXT NOT NULL,
    owner           TEXT,
    source_path     TEXT NOT NULL,
    source_sha256   TEXT NOT NULL,
    source_bytes    INTEGER NOT NULL,
    duration_s      DOUBLE PRECISION NOT NULL,
    width           INTEGER NOT NULL,
    height          INTEGER NOT NULL,
    codec           TEXT NOT NULL,
    created_at      TEXT NOT NULL            -- RFC 3339, UTC
);

CREATE UNIQUE INDEX works_source_sha256 ON works (source_sha256);

-- One row per work: sample i shows the frame at i / sample_rate seconds.
CREATE TABLE fingerprints (
    work_id         TEXT PRIMARY KEY REFERENCES works (id) ON DELETE CASCADE,
    algorithm       TEXT NOT NULL,           -- hashing scheme and version
    sample_rate     DOUBLE PRECISION NOT NULL,
    frame_count     INTEGER NOT NULL,
    hashes          BLOB NOT NULL,           -- frame_count x 32 bytes
    qualities       BLOB NOT NULL            -- frame_count x 1 byte (quality x 255)
);
