DROP INDEX assignments_unscored;
CREATE INDEX assignments_score ON assignments (score, ent_id);
CREATE INDEX assignments_band ON assignments (band, ent_id);
DROP VIEW assignment_index;
CREATE TABLE assignment_index (
    usr_id          TEXT NOT NULL,
    ent_id          TEXT NOT NULL,
    app_id          TEXT,
    score           REAL,
    band            TEXT NOT NULL,
    justification   TEXT NOT NULL DEFAULT '[]',
    attributes      TEXT NOT NULL DEFAULT '{}'
);
CREATE UNIQUE INDEX assignment_index_pk ON assignment_index (usr_id, ent_id);
CREATE INDEX assignment_index_ent ON assignment_index (ent_id, usr_id);
CREATE INDEX assignment_index_app ON assignment_index (app_id, usr_id, ent_id);
