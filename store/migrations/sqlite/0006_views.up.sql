-- Query views of the REST API: identity attributes as rows (the
-- filterable attributes, one row per identity and attribute, published
-- by every load from the identities), so that attribute filters and
-- per-population filter options are index lookups; and the indexes the
-- views page and look up by.

CREATE TABLE identity_attributes (
    usr_id          TEXT NOT NULL,
    attribute       TEXT NOT NULL,
    value           TEXT NOT NULL
);
CREATE UNIQUE INDEX identity_attributes_pk ON identity_attributes (usr_id, attribute);
CREATE INDEX identity_attributes_value ON identity_attributes (attribute, value, usr_id);

CREATE INDEX rules_justification ON rules (justification, ent_id);
CREATE INDEX assignments_score ON assignments (score, ent_id);
CREATE INDEX rule_decisions_updated ON rule_decisions (updated_at);
CREATE INDEX role_edits_updated ON role_edits (updated_at);
