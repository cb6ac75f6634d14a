-- PostgreSQL twin of migrations/sqlite/0002_provenance.sql: the same tables and columns
-- (tests check it), with BIGINT for INTEGER, BYTEA for BLOB, and byte-order
-- ("C") collation on text so ids and RFC 3339 times sort as on SQLite.

-- Creation-stage provenance: each work's artifacts form a hash chain, and
-- every artifact and every chain head carries an RFC 3161 token.
-- A NULL token means "pending timestamp": retried until a TSA answers.

ALTER TABLE works ADD COLUMN rights_statement TEXT COLLATE "C";

CREATE TABLE artifacts (
    work_id          TEXT COLLATE "C" NOT NULL REFERENCES works (id) ON DELETE CASCADE,
    seq              BIGINT NOT NULL,        -- position in the work's chain, from 1
    stage            TEXT COLLATE "C" NOT NULL,           -- concept, script, ..., final-cut
    file_name        TEXT COLLATE "C" NOT NULL,           -- base name as given
    source_path      TEXT COLLATE "C" NOT NULL,           -- where it was read from
    size_bytes       BIGINT NOT NULL,
    sha256           TEXT COLLATE "C" NOT NULL,           -- hex
    media_created_at TEXT COLLATE "C",                    -- creation time from the file's own metadata
    added_at         TEXT COLLATE "C" NOT NULL,           -- RFC 3339, UTC
    prev_hash        TEXT COLLATE "C" NOT NULL,           -- entry_hash of seq - 1 (64 zeros for seq 1)
    entry_hash       TEXT COLLATE "C" NOT NULL,           -- SHA-256 of the entry's canonical text
    token            BYTEA,                    -- DER TimeStampToken over sha256
    tsa_url          TEXT COLLATE "C",
    tsa_time         TEXT COLLATE "C",
    tsa_serial       TEXT COLLATE "C",
    tsa_name         TEXT COLLATE "C",
    stamp_error      TEXT COLLATE "C",                    -- why the last attempt failed
    PRIMARY KEY (work_id, seq)
);

-- One row per chain head: after each artifact is added, the new head
-- (the last entry's hash) is timestamped so no stage can be dropped unseen.
CREATE TABLE chain_heads (
    work_id          TEXT COLLATE "C" NOT NULL REFERENCES works (id) ON DELETE CASCADE,
    seq              BIGINT NOT NULL,        -- the entry this head is
    head_hash        TEXT COLLATE "C" NOT NULL,
    token            BYTEA,                    -- DER TimeStampToken over head_hash
    tsa_url          TEXT COLLATE "C",
    tsa_time         TEXT COLLATE "C",
    tsa_serial       TEXT COLLATE "C",
    tsa_name         TEXT COLLATE "C",
    stamp_error      TEXT COLLATE "C",
    PRIMARY KEY (work_id, seq)
);
