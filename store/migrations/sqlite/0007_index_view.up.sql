-- The assignment index (SPEC section 11) is the published assignments
-- table in key order (its unique (usr_id, ent_id) index) with each entry's
-- identity attributes: the assignment endpoints page through that index,
-- so the view names it instead of a second copy of every assignment. A
-- load swaps the tables under the view and re-creates it in the same
-- transaction.
DROP TABLE assignment_index;
CREATE VIEW assignment_index AS
SELECT a.usr_id, a.ent_id, a.app_id, a.score, a.band, a.justification, COALESCE(i.attributes, '{}') AS attributes
FROM assignments a LEFT JOIN identities i ON i.usr_id = a.usr_id;

-- No view filters or orders assignments by band (bands are computed from
-- the score under the request's thresholds): its index only slowed loads.
DROP INDEX assignments_band;

-- The score index served one view: the unscored assignments by
-- entitlement. A partial index in that order serves it with a few percent
-- of the entries, and loads no longer sort every score.
DROP INDEX assignments_score;
CREATE INDEX assignments_unscored ON assignments (ent_id, usr_id) WHERE score IS NULL;
