-- PostgreSQL twin of migrations/sqlite/0005_alerts.sql: the same tables and columns
-- (tests check it), with BIGINT for INTEGER, BYTEA for BLOB, and byte-order
-- ("C") collation on text so ids and RFC 3339 times sort as on SQLite.

-- The alert outbox: every alert is written here (in the transaction that
-- records its match) before anything is sent, then delivered with retries.
-- One row per (match, recipient, channel): the idempotency key, so a crash
-- or a restart can neither send an alert twice nor drop it.
-- Rows with the same `batch` go out as one message: an immediate alert is
-- a batch of its own; a digest batch is every alert of one digest window
-- for one recipient and channel.
CREATE TABLE alerts (
    id              TEXT COLLATE "C" PRIMARY KEY,
    match_id        TEXT COLLATE "C" NOT NULL REFERENCES matches (id) ON DELETE CASCADE,
    channel         TEXT COLLATE "C" NOT NULL,           -- 'email' or 'webhook:<kind>:<index>'
    recipient       TEXT COLLATE "C" NOT NULL,           -- an address, or the webhook URL
    batch           TEXT COLLATE "C" NOT NULL,           -- the message this alert goes out in
    due_at          TEXT COLLATE "C" NOT NULL,           -- not before (a digest's time)
    state           TEXT COLLATE "C" NOT NULL,           -- queued | sending | delivered | failed
    attempts        BIGINT NOT NULL DEFAULT 0,
    next_attempt_at TEXT COLLATE "C" NOT NULL,
    lease_owner     TEXT COLLATE "C",
    lease_expires_at TEXT COLLATE "C",
    last_error      TEXT COLLATE "C",
    server_response TEXT COLLATE "C",                    -- the server's answer to the delivery
    created_at      TEXT COLLATE "C" NOT NULL,
    delivered_at    TEXT COLLATE "C",
    UNIQUE (match_id, recipient, channel)
);

CREATE INDEX alerts_ready ON alerts (state, next_attempt_at);
CREATE INDEX alerts_batch ON alerts (batch);
