-- PostgreSQL twin of migrations/sqlite/0003_sources.sql: the same tables and columns
-- (tests check it), with BIGINT for INTEGER, BYTEA for BLOB, and byte-order
-- ("C") collation on text so ids and RFC 3339 times sort as on SQLite.

-- Sources, scans, candidates, the job queue and matches (the daemon's state).
-- Portable types only (TEXT, INTEGER, DOUBLE PRECISION) so the PostgreSQL
-- migrations can mirror this file. Times are RFC 3339 strings in UTC, which
-- sort as they compare.

-- A configured place to look. `settings` is the source's whole
-- configuration as JSON (kind, url, schedule, proxy, caps, ...).
CREATE TABLE sources (
    name            TEXT COLLATE "C" PRIMARY KEY,
    kind            TEXT COLLATE "C" NOT NULL,
    url             TEXT COLLATE "C" NOT NULL,
    settings        TEXT COLLATE "C" NOT NULL,
    origin          TEXT COLLATE "C" NOT NULL,           -- 'cli' (sources add) or 'config' ([[sources]])
    created_at      TEXT COLLATE "C" NOT NULL,
    last_run_at     TEXT COLLATE "C",
    next_run_at     TEXT COLLATE "C",
    last_error      TEXT COLLATE "C",
    quota_day       TEXT COLLATE "C",                    -- YouTube Data API quota: the UTC day counted
    quota_used      BIGINT NOT NULL DEFAULT 0
);

-- Conditional GET: the validators of the last 200 response per source and URL.
CREATE TABLE http_validators (
    source          TEXT COLLATE "C" NOT NULL,
    url             TEXT COLLATE "C" NOT NULL,
    etag            TEXT COLLATE "C",
    last_modified   TEXT COLLATE "C",
    PRIMARY KEY (source, url)
);

-- One run of one source.
CREATE TABLE scans (
    id              TEXT COLLATE "C" PRIMARY KEY,
    source          TEXT COLLATE "C" NOT NULL,
    status          TEXT COLLATE "C" NOT NULL,           -- discovering | processing | done | failed
    started_at      TEXT COLLATE "C" NOT NULL,
    ended_at        TEXT COLLATE "C",
    candidates      BIGINT NOT NULL DEFAULT 0,   -- uploads the source listed
    new_candidates  BIGINT NOT NULL DEFAULT 0,   -- of those, not seen before
    new_matches     BIGINT NOT NULL DEFAULT 0,
    errors          TEXT COLLATE "C" NOT NULL DEFAULT '[]'    -- JSON list of messages
);

CREATE INDEX scans_source ON scans (source, started_at);

-- One discovered upload, once per canonical URL.
CREATE TABLE candidates (
    id              TEXT COLLATE "C" PRIMARY KEY,
    source          TEXT COLLATE "C" NOT NULL,
    scan_id         TEXT COLLATE "C" NOT NULL,
    canonical_url   TEXT COLLATE "C" NOT NULL,
    platform        TEXT COLLATE "C" NOT NULL,
    uploader        TEXT COLLATE "C" NOT NULL DEFAULT '',
    title           TEXT COLLATE "C" NOT NULL DEFAULT '',
    published_at    TEXT COLLATE "C",
    media_url       TEXT COLLATE "C",                    -- direct media, when the source gave one
    media_sha256    TEXT COLLATE "C",
    media_bytes     BIGINT,
    duration_s      DOUBLE PRECISION,
    status          TEXT COLLATE "C" NOT NULL,           -- queued | done | duplicate | failed
    duplicate_of    TEXT COLLATE "C",                    -- same media (SHA-256) as this candidate
    error           TEXT COLLATE "C",
    created_at      TEXT COLLATE "C" NOT NULL,
    processed_at    TEXT COLLATE "C"
);

CREATE UNIQUE INDEX candidates_canonical_url ON candidates (canonical_url);
CREATE INDEX candidates_media_sha256 ON candidates (media_sha256);
CREATE INDEX candidates_scan ON candidates (scan_id);

-- The persisted job queue. kind 'scan': subject is a source name;
-- kind 'candidate': subject is a candidate id (its job id is derived from
-- it, so a candidate never gets two jobs).
CREATE TABLE jobs (
    id              TEXT COLLATE "C" PRIMARY KEY,
    kind            TEXT COLLATE "C" NOT NULL,
    subject         TEXT COLLATE "C" NOT NULL,
    scan_id         TEXT COLLATE "C",
    state           TEXT COLLATE "C" NOT NULL,           -- queued | running | done | failed
    attempts        BIGINT NOT NULL DEFAULT 0,
    max_attempts    BIGINT NOT NULL,
    lease_owner     TEXT COLLATE "C",
    lease_expires_at TEXT COLLATE "C",
    run_after       TEXT COLLATE "C" NOT NULL,
    last_error      TEXT COLLATE "C",
    created_at      TEXT COLLATE "C" NOT NULL,
    updated_at      TEXT COLLATE "C" NOT NULL
);

CREATE INDEX jobs_ready ON jobs (state, run_after);
CREATE INDEX jobs_scan ON jobs (scan_id, state);

-- A candidate that copies a work. One row per candidate and work.
CREATE TABLE matches (
    id              TEXT COLLATE "C" PRIMARY KEY,
    work_id         TEXT COLLATE "C" NOT NULL REFERENCES works (id) ON DELETE CASCADE,
    candidate_id    TEXT COLLATE "C" NOT NULL REFERENCES candidates (id) ON DELETE CASCADE,
    score           DOUBLE PRECISION NOT NULL,
    segments        TEXT COLLATE "C" NOT NULL,           -- JSON list of matched segments
    status          TEXT COLLATE "C" NOT NULL DEFAULT 'pending',
    created_at      TEXT COLLATE "C" NOT NULL,
    UNIQUE (candidate_id, work_id)
);
