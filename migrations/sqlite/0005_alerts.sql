-- The alert outbox: every alert is written here (in the transaction that
-- records its match) before anything is sent, then delivered with retries.
-- One row per (match, recipient, channel): the idempotency key, so a crash
-- or a restart can neither send an alert twice nor drop it.
-- Rows with the same `batch` go out as one message: an immediate alert is
-- a batch of its own; a digest batch is every alert of one digest window
-- for one recipient and channel.
CREATE TABLE alerts (
    id              TEXT PRIMARY KEY,
    match_id        TEXT NOT NULL REFERENCES matches (id) ON DELETE CASCADE,
    channel         TEXT NOT NULL,           -- 'email' or 'webhook:<kind>:<index>'
    recipient       TEXT NOT NULL,           -- an address, or the webhook URL
    batch           TEXT NOT NULL,           -- the message this alert goes out in
    due_at          TEXT NOT NULL,           -- not before (a digest's time)
    state           TEXT NOT NULL,           -- queued | sending | delivered | failed
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT NOT NULL,
    lease_owner     TEXT,
    lease_expires_at TEXT,
    last_error      TEXT,
    server_response TEXT,                    -- the server's answer to the delivery
    created_at      TEXT NOT NULL,
    delivered_at    TEXT,
    UNIQUE (match_id, recipient, channel)
);

CREATE INDEX alerts_ready ON alerts (state, next_attempt_at);
CREATE INDEX alerts_batch ON alerts (batch);
