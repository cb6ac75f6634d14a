-- The SHA-256 of a video queued for registration, so the same video is not
-- queued twice (`works import` run again, one film in two folders) and a
-- registered one is not queued at all. NULL for uploads queued before.
ALTER TABLE uploads ADD COLUMN sha256 TEXT;

CREATE INDEX uploads_sha256 ON uploads (sha256);
