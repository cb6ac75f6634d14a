-- The inbox pages through matches newest first, by status or across all of
-- them: both orders are read from an index, so a page costs the same
-- whether it is the first or the hundredth (no sort of every match).
DROP INDEX matches_status_created;
CREATE INDEX matches_status_created ON matches (status, created_at, id);
CREATE INDEX matches_created ON matches (created_at, id);
CREATE INDEX candidates_source ON candidates (source);
CREATE INDEX candidates_platform ON candidates (platform);
