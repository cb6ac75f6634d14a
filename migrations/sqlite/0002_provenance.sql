-- Creation-stage provenance: each work's artifacts form a hash chain, and
-- every artifact and every chain head carries an RFC 3161 token.
-- A NULL token means "pending timestamp": retried until a TSA answers.

ALTER TABLE works ADD COLUMN rights_statement TEXT;

CREATE TABLE artifacts (
    work_id          TEXT NOT NULL REFERENCES works (id) ON DELETE CASCADE,
    seq              INTEGER NOT NULL,        -- position in the work's chain, from 1
    stage            TEXT NOT NULL,           -- concept, script, ..., final-cut
    file_name        TEXT NOT NULL,           -- base name as given
    source_path      TEXT NOT NULL,           -- where it was read from
    size_bytes       INTEGER NOT NULL,
    sha256           TEXT NOT NULL,           -- hex
    media_created_at TEXT,                    -- creation time from the file's own metadata
    added_at         TEXT NOT NULL,           -- RFC 3339, UTC
    prev_hash        TEXT NOT NULL,           -- entry_hash of seq - 1 (64 zeros for seq 1)
    entry_hash       TEXT NOT NULL,           -- SHA-256 of the entry's canonical text
    token            BLOB,                    -- DER TimeStampToken over sha256
    tsa_url          TEXT,
    tsa_time         TEXT,
    tsa_serial       TEXT,
    tsa_name         TEXT,
    stamp_error      TEXT,                    -- why the last attempt failed
    PRIMARY KEY (work_id, seq)
);

-- One row per chain head: after each artifact is added, the new head
-- (the last entry's hash) is timestamped so no stage can be dropped unseen.
CREATE TABLE chain_heads (
    work_id          TEXT NOT NULL REFERENCES works (id) ON DELETE CASCADE,
    seq              INTEGER NOT NULL,        -- the entry this head is
    head_hash        TEXT NOT NULL,
    token            BLOB,                    -- DER TimeStampToken over head_hash
    tsa_url          TEXT,
    tsa_time         TEXT,
    tsa_serial       TEXT,
    tsa_name         TEXT,
    stamp_error      TEXT,
    PRIMARY KEY (work_id, seq)
);
