-- One upload, one match: the same media found at another URL (the same
-- SHA-256, or a copy that aligns with the work exactly as an earlier one
-- does) is another location of the earlier match, not a new match. The
-- match's own candidate is its first location; these are the others.
CREATE TABLE match_locations (
    match_id        TEXT NOT NULL REFERENCES matches (id) ON DELETE CASCADE,
    candidate_id    TEXT NOT NULL REFERENCES candidates (id) ON DELETE CASCADE,
    found_at        TEXT NOT NULL,
    PRIMARY KEY (match_id, candidate_id)
);

CREATE INDEX match_locations_candidate ON match_locations (candidate_id);
