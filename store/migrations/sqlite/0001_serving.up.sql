-- Serving tables: replaced as a whole by every load (staging copy, then a
-- swap in one transaction). Text columns use SQLite's default
-- BINARY collation, so every ordering is by bytes. List values (justifications, entitlement lists) and
-- attribute maps are JSON text. Timestamps are microseconds since the epoch
-- (UTC), as in PostgreSQL. No foreign keys point into these tables: a load drops
-- and renames them.

CREATE TABLE identities (
    usr_id          TEXT NOT NULL,
    usr_name        TEXT,
    usr_manager_id  TEXT,
    attributes      TEXT NOT NULL DEFAULT '{}'
);
CREATE UNIQUE INDEX identities_pk ON identities (usr_id);
CREATE INDEX identities_manager ON identities (usr_manager_id, usr_id);

CREATE TABLE applications (
    app_id          TEXT NOT NULL,
    app_name        TEXT,
    app_owner_id    TEXT,
    app_criticality TEXT,
    app_risk_level  TEXT,
    attributes      TEXT NOT NULL DEFAULT '{}'
);
CREATE UNIQUE INDEX applications_pk ON applications (app_id);
CREATE INDEX applications_owner ON applications (app_owner_id, app_id);

CREATE TABLE entitlements (
    ent_id          TEXT NOT NULL,
    ent_name        TEXT,
    ent_owner_id    TEXT,
    app_id          TEXT,
    ent_criticality TEXT,
    ent_risk_level  TEXT,
    attributes      TEXT NOT NULL DEFAULT '{}'
);
CREATE UNIQUE INDEX entitlements_pk ON entitlements (ent_id);
CREATE INDEX entitlements_app ON entitlements (app_id, ent_id);
CREATE INDEX entitlements_owner ON entitlements (ent_owner_id, ent_id);

-- One row per received assignment; score, band, justification, freq and
-- frequnion come from predict-as-is (null / 'unscored' / [] before it ran).
CREATE TABLE assignments (
    usr_id          TEXT NOT NULL,
    ent_id          TEXT NOT NULL,
    app_id          TEXT,
    valid           INTEGER NOT NULL,
    score           REAL,
    band            TEXT NOT NULL,
    justification   TEXT NOT NULL DEFAULT '[]',
    freq            BIGINT,
    frequnion       BIGINT,
    last_used       BIGINT
);
CREATE UNIQUE INDEX assignments_pk ON assignments (usr_id, ent_id);
CREATE INDEX assignments_ent ON assignments (ent_id, usr_id);
CREATE INDEX assignments_app ON assignments (app_id, usr_id, ent_id);
CREATE INDEX assignments_band ON assignments (band, ent_id);

CREATE TABLE rules (
    ent_id          TEXT NOT NULL,
    justification   TEXT NOT NULL,
    rule_len        BIGINT NOT NULL,
    freq            BIGINT NOT NULL,
    frequnion       BIGINT NOT NULL,
    confidence      REAL NOT NULL
);
CREATE UNIQUE INDEX rules_pk ON rules (ent_id, justification);
CREATE INDEX rules_conf ON rules (confidence, ent_id);

CREATE TABLE recommendations (
    usr_id          TEXT NOT NULL,
    ent_id          TEXT NOT NULL,
    confidence      REAL NOT NULL,
    freq            BIGINT,
    frequnion       BIGINT,
    justification   TEXT NOT NULL DEFAULT '[]',
    rank            BIGINT NOT NULL
);
CREATE UNIQUE INDEX recommendations_pk ON recommendations (usr_id, ent_id);
CREATE INDEX recommendations_user_rank ON recommendations (usr_id, rank);
CREATE INDEX recommendations_ent ON recommendations (ent_id, usr_id);

CREATE TABLE driving_factors (
    ent_id          TEXT NOT NULL,
    item            TEXT NOT NULL,
    count           BIGINT,
    holders         BIGINT
);
CREATE UNIQUE INDEX driving_factors_pk ON driving_factors (ent_id, item);

CREATE TABLE roles (
    role_id          TEXT NOT NULL,
    justification    TEXT NOT NULL DEFAULT '[]',
    entitlements     TEXT NOT NULL DEFAULT '[]',
    member_count     BIGINT,
    assignment_count BIGINT,
    status           TEXT NOT NULL DEFAULT 'candidate'
);
CREATE UNIQUE INDEX roles_pk ON roles (role_id);

CREATE TABLE role_members (
    role_id         TEXT NOT NULL,
    usr_id          TEXT NOT NULL
);
CREATE UNIQUE INDEX role_members_pk ON role_members (role_id, usr_id);
CREATE INDEX role_members_user ON role_members (usr_id, role_id);

CREATE TABLE role_entitlements (
    role_id         TEXT NOT NULL,
    ent_id          TEXT NOT NULL
);
CREATE UNIQUE INDEX role_entitlements_pk ON role_entitlements (role_id, ent_id);
CREATE INDEX role_entitlements_ent ON role_entitlements (ent_id, role_id);

-- rank is the order the anomaly job gives (avg_conf - score desc, usr_id, ent_id).
CREATE TABLE anomalies (
    rank                     BIGINT NOT NULL,
    usr_id                   TEXT NOT NULL,
    ent_id                   TEXT NOT NULL,
    usr_name                 TEXT,
    manager_name             TEXT,
    ent_name                 TEXT,
    app_name                 TEXT,
    justification            TEXT NOT NULL DEFAULT '[]',
    confidence               REAL,
    avg_conf                 REAL,
    median                   REAL,
    total_assignees          BIGINT,
    num_below_conf_threshold BIGINT,
    percent_below_threshold  REAL,
    freq                     BIGINT,
    frequnion                BIGINT,
    last_used                BIGINT
);
CREATE UNIQUE INDEX anomalies_pk ON anomalies (usr_id, ent_id);
CREATE INDEX anomalies_rank ON anomalies (rank);
CREATE INDEX anomalies_ent ON anomalies (ent_id, rank);

-- Per-entitlement figures computed in Go at load (company view, stats).
CREATE TABLE entitlement_stats (
    ent_id          TEXT NOT NULL,
    app_id          TEXT,
    holders         BIGINT NOT NULL,
    scored          BIGINT NOT NULL,
    avg_score       REAL,
    avg_bin         BIGINT,
    high            BIGINT NOT NULL,
    medium          BIGINT NOT NULL,
    low             BIGINT NOT NULL,
    unscored        BIGINT NOT NULL,
    rules           BIGINT NOT NULL
);
CREATE UNIQUE INDEX entitlement_stats_pk ON entitlement_stats (ent_id);
CREATE INDEX entitlement_stats_avg ON entitlement_stats (avg_score, ent_id);
CREATE INDEX entitlement_stats_holders ON entitlement_stats (holders, ent_id);

-- Company-view figures: one JSON value per figure.
CREATE TABLE company_view (
    figure          TEXT NOT NULL,
    value           TEXT NOT NULL
);
CREATE UNIQUE INDEX company_view_pk ON company_view (figure);

-- Filter options: per filterable identity attribute, its values and counts.
CREATE TABLE filter_options (
    attribute       TEXT NOT NULL,
    value           TEXT NOT NULL,
    count           BIGINT NOT NULL
);
CREATE UNIQUE INDEX filter_options_pk ON filter_options (attribute, value);

-- User search list: search_text is lower-cased id and name, computed in Go.
CREATE TABLE user_search (
    usr_id          TEXT NOT NULL,
    usr_name        TEXT,
    usr_manager_id  TEXT,
    search_text     TEXT NOT NULL
);
CREATE UNIQUE INDEX user_search_pk ON user_search (usr_id);
CREATE INDEX user_search_text ON user_search (search_text, usr_id);

-- The assignment index (SPEC section 11), built by create-assignment-index
-- from the published tables: cursor paging by (usr_id, ent_id).
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

-- History of loads (never replaced): the served run is the newest row.
CREATE TABLE serving_runs (
    seq             INTEGER PRIMARY KEY,
    run_id          TEXT NOT NULL,
    generation      TEXT NOT NULL,
    run_finished    BIGINT,
    loaded_at       BIGINT NOT NULL,
    high            BIGINT NOT NULL,
    medium          BIGINT NOT NULL,
    low             BIGINT NOT NULL,
    unscored        BIGINT NOT NULL,
    tables          TEXT NOT NULL
);
