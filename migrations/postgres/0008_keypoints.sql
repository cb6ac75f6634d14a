-- Keypoints of each work's keyframes (fingerprint scheme v3): corners with
-- binary descriptors, for copies that show only part of a work. NULL for
-- works fingerprinted with an earlier scheme.
ALTER TABLE fingerprints ADD COLUMN keypoints BYTEA;
