-- Sources, scans, candidates, the job queue and matches (the daemon's state).
-- Portable types only (TEXT, INTEGER, DOUBLE PRECISION) so the PostgreSQL
-- migrations can mirror this file. Times are RFC 3339 strings in UTC, which
-- sort as they compare.

-- A configured place to look. `settings` is the source's whole
-- configuration as JSON (kind, url, schedule, proxy, caps, ...).
CREATE TABLE sources (
    name            TEXT PRIMARY KEY,
    kind            TEXT NOT NULL,
    url             TEXT NOT NULL,
    settings        TEXT NOT NULL,
    origin          TEXT NOT NULL,           -- 'cli' (sources add) or 'config' ([[sources]])
    created_at      TEXT NOT NULL,
    last_run_at     TEXT,
    next_run_at     TEXT,
    last_error      TEXT,
    quota_day       TEXT,                    -- YouTube Data API quota: the UTC day counted
    quota_used      INTEGER NOT NULL DEFAULT 0
);

-- Conditional GET: the validators of the last 200 response per source and URL.
CREATE TABLE http_validators (
    source          TEXT NOT NULL,
    url             TEXT NOT NULL,
    etag            TEXT,
    last_modified   TEXT,
    PRIMARY KEY (source, url)
);

-- One run of one source.
CREATE TABLE scans (
    id              TEXT PRIMARY KEY,
    source          TEXT NOT NULL,
    status          TEXT NOT NULL,           -- discovering | processing | done | failed
    started_at      TEXT NOT NULL,
    ended_at        TEXT,
    candidates      INTEGER NOT NULL DEFAULT 0,   -- uploads the source listed
    new_candidates  INTEGER NOT NULL DEFAULT 0,   -- of those, not seen before
    new_matches     INTEGER NOT NULL DEFAULT 0,
    errors          TEXT NOT NULL DEFAULT '[]'    -- JSON list of messages
);

CREATE INDEX scans_source ON scans (source, started_at);

-- One discovered upload, once per canonical URL.
CREATE TABLE candidates (
    id              TEXT PRIMARY KEY,
    source          TEXT NOT NULL,
    scan_id         TEXT NOT NULL,
    canonical_url   TEXT NOT NULL,
    platform        TEXT NOT NULL,
    uploader        TEXT NOT NULL DEFAULT '',
    title           TEXT NOT NULL DEFAULT '',
    published_at    TEXT,
    media_url       TEXT,                    -- direct media, when the source gave one
    media_sha256    TEXT,
    media_bytes     INTEGER,
    duration_s      DOUBLE PRECISION,
    status          TEXT NOT NULL,           -- queued | done | duplicate | failed
    duplicate_of    TEXT,                    -- same media (SHA-256) as this candidate
    error           TEXT,
    created_at      TEXT NOT NULL,
    processed_at    TEXT
);

CREATE UNIQUE INDEX candidates_canonical_url ON candidates (canonical_url);
CREATE INDEX candidates_media_sha256 ON candidates (media_sha256);
CREATE INDEX candidates_scan ON candidates (scan_id);

-- The persisted job queue. kind 'scan': subject is a source name;
-- kind 'candidate': subject is a candidate id (its job id is derived from
-- it, so a candidate never gets two jobs).
CREATE TABLE jobs (
    id              TEXT PRIMARY KEY,
    kind            TEXT NOT NULL,
    subject         TEXT NOT NULL,
    scan_id         TEXT,
    state           TEXT NOT NULL,           -- queued | running | done | failed
    attempts        INTEGER NOT NULL DEFAULT 0,
    max_attempts    INTEGER NOT NULL,
    lease_owner     TEXT,
    lease_expires_at TEXT,
    run_after       TEXT NOT NULL,
    last_error      TEXT,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL
);

CREATE INDEX jobs_ready ON jobs (state, run_after);
CREATE INDEX jobs_scan ON jobs (scan_id, state);

-- A candidate that copies a work. One row per candidate and work.
CREATE TABLE matches (
    id              TEXT PRIMARY KEY,
    work_id         TEXT NOT NULL REFERENCES works (id) ON DELETE CASCADE,
    candidate_id    TEXT NOT NULL REFERENCES candidates (id) ON DELETE CASCADE,
    score           DOUBLE PRECISION NOT NULL,
    segments        TEXT NOT NULL,           -- JSON list of matched segments
    status          TEXT NOT NULL DEFAULT 'pending',
    created_at      TEXT NOT NULL,
    UNIQUE (candidate_id, work_id)
);
