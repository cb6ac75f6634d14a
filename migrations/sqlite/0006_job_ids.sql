-- Job ids have one format, KIND:SUBJECT; capture jobs were capture-MATCH.
UPDATE jobs SET id = 'capture:' || substr(id, 9) WHERE id LIKE 'capture-%';
