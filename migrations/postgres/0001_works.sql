-- PostgreSQL twin of migrations/sqlite/0001_works.sql: the same tables and columns
-- (tests check it), with BIGINT for INTEGER, BYTEA for BLOB, and byte-order
-- ("C") collation on text so ids and RFC 3339 times sort as on SQLite.

-- Registered works and their frame fingerprints.
-- Portable types only (TEXT, INTEGER, DOUBLE PRECISION, a binary column) so
-- the PostgreSQL migrations mirror this file with BYTEA for BLOB.

CREATE TABLE works (
    id              TEXT COLLATE "C" PRIMARY KEY,
    title           TEXT COLLATE "C" NOT NULL,
    owner           TEXT COLLATE "C",
    source_path     TEXT COLLATE "C" NOT NULL,
    source_sha256   TEXT COLLATE "C" NOT NULL,
    source_bytes    BIGINT NOT NULL,
    duration_s      DOUBLE PRECISION NOT NULL,
    width           BIGINT NOT NULL,
    height          BIGINT NOT NULL,
    codec           TEXT COLLATE "C" NOT NULL,
    created_at      TEXT COLLATE "C" NOT NULL            -- RFC 3339, UTC
);

CREATE UNIQUE INDEX works_source_sha256 ON works (source_sha256);

-- One row per work: sample i shows the frame at i / sample_rate seconds.
CREATE TABLE fingerprints (
    work_id         TEXT COLLATE "C" PRIMARY KEY REFERENCES works (id) ON DELETE CASCADE,
    algorithm       TEXT COLLATE "C" NOT NULL,           -- hashing scheme and version
    sample_rate     DOUBLE PRECISION NOT NULL,
    frame_count     BIGINT NOT NULL,
    hashes          BYTEA NOT NULL,           -- frame_count x 32 bytes
    qualities       BYTEA NOT NULL            -- frame_count x 1 byte (quality x 255)
);
