-- PostgreSQL twin of migrations/sqlite/0014_upload_hashes.sql: the same tables and columns
-- (tests check it), with byte-order ("C") collation on text.

-- The SHA-256 of a video queued for registration, so the same video is not
-- queued twice (`works import` run again, one film in two folders) and a
-- registered one is not queued at all. NULL for uploads queued before.
ALTER TABLE uploads ADD COLUMN sha256 TEXT COLLATE "C";

CREATE INDEX uploads_sha256 ON uploads (sha256);
