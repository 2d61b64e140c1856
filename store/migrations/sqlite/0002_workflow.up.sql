-- Workflow state written through the API. A load never touches these
-- tables. Timestamps are microseconds since the epoch (UTC).

CREATE TABLE users (
    username        TEXT NOT NULL PRIMARY KEY,
    display_name    TEXT,
    password_hash   TEXT,
    groups          TEXT NOT NULL DEFAULT '[]',
    disabled        INTEGER NOT NULL DEFAULT 0,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL
);

-- Only a hash of an API key is stored.
CREATE TABLE api_keys (
    key_id          TEXT NOT NULL PRIMARY KEY,
    key_hash        TEXT NOT NULL UNIQUE,
    name            TEXT,
    owner           TEXT,
    created_at      BIGINT NOT NULL,
    revoked_at      BIGINT
);

CREATE TABLE assignment_decisions (
    usr_id          TEXT NOT NULL,
    ent_id          TEXT NOT NULL,
    is_certified    INTEGER NOT NULL DEFAULT 0,
    is_revoked      INTEGER NOT NULL DEFAULT 0,
    is_requested    INTEGER NOT NULL DEFAULT 0,
    is_processed    INTEGER NOT NULL DEFAULT 0,
    is_archived     INTEGER NOT NULL DEFAULT 0,
    reason          TEXT,
    author          TEXT,
    author_name     TEXT,
    author_type     TEXT,
    datasink_status TEXT,
    updated_at      BIGINT NOT NULL,
    PRIMARY KEY (usr_id, ent_id)
);
CREATE INDEX assignment_decisions_ent ON assignment_decisions (ent_id, usr_id);
CREATE INDEX assignment_decisions_updated ON assignment_decisions (updated_at);

CREATE TABLE assignment_decision_history (
    seq             INTEGER PRIMARY KEY,
    usr_id          TEXT NOT NULL,
    ent_id          TEXT NOT NULL,
    is_certified    INTEGER NOT NULL,
    is_revoked      INTEGER NOT NULL,
    is_requested    INTEGER NOT NULL,
    is_processed    INTEGER NOT NULL,
    is_archived     INTEGER NOT NULL,
    reason          TEXT,
    author          TEXT,
    datasink_status TEXT,
    recorded_at     BIGINT NOT NULL
);
CREATE INDEX assignment_decision_history_key ON assignment_decision_history (usr_id, ent_id, seq);

-- A rule is (entitlement, justification as a sorted JSON list of items).
CREATE TABLE rule_decisions (
    ent_id             TEXT NOT NULL,
    justification      TEXT NOT NULL,
    is_autocertify     INTEGER NOT NULL DEFAULT 0,
    is_autorequest     INTEGER NOT NULL DEFAULT 0,
    autocertify_reason TEXT,
    autorequest_reason TEXT,
    author             TEXT,
    datasink_status    TEXT,
    updated_at         BIGINT NOT NULL,
    PRIMARY KEY (ent_id, justification)
);

CREATE TABLE rule_decision_history (
    seq                INTEGER PRIMARY KEY,
    ent_id             TEXT NOT NULL,
    justification      TEXT NOT NULL,
    is_autocertify     INTEGER NOT NULL,
    is_autorequest     INTEGER NOT NULL,
    autocertify_reason TEXT,
    autorequest_reason TEXT,
    author             TEXT,
    datasink_status    TEXT,
    recorded_at        BIGINT NOT NULL
);
CREATE INDEX rule_decision_history_key ON rule_decision_history (ent_id, justification, seq);

-- Role edits (draft / active status, custom roles); they override the
-- candidate roles of a load by role_id.
CREATE TABLE role_edits (
    role_id         TEXT NOT NULL PRIMARY KEY,
    status          TEXT NOT NULL,
    custom_role     INTEGER NOT NULL DEFAULT 0,
    body            TEXT NOT NULL,
    author          TEXT,
    datasink_status TEXT,
    updated_at      BIGINT NOT NULL
);

CREATE TABLE data_sinks (
    id                     TEXT NOT NULL PRIMARY KEY,
    name                   TEXT NOT NULL,
    config                 TEXT NOT NULL DEFAULT '{}',
    auto_certify_timestamp BIGINT,
    auto_request_timestamp BIGINT,
    certify_timestamp      BIGINT,
    revoke_timestamp       BIGINT,
    role_publish_timestamp BIGINT,
    logs                   TEXT NOT NULL DEFAULT '[]',
    created_at             BIGINT NOT NULL,
    updated_at             BIGINT NOT NULL
);
CREATE INDEX data_sinks_name ON data_sinks (name, id);

CREATE TABLE job_definitions (
    job_name        TEXT NOT NULL PRIMARY KEY,
    job_type        TEXT NOT NULL,
    job_parameters  TEXT NOT NULL DEFAULT '{}',
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL
);

CREATE TABLE runs (
    run_id          TEXT NOT NULL PRIMARY KEY,
    job_name        TEXT NOT NULL,
    job_type        TEXT NOT NULL,
    status          TEXT NOT NULL,
    params          TEXT NOT NULL DEFAULT '{}',
    message         TEXT,
    created_at      BIGINT NOT NULL,
    started_at      BIGINT,
    ended_at        BIGINT
);
CREATE INDEX runs_job ON runs (job_name, created_at);
CREATE INDEX runs_status ON runs (status, created_at);

CREATE TABLE run_events (
    run_id          TEXT NOT NULL,
    seq             BIGINT NOT NULL,
    at              BIGINT NOT NULL,
    kind            TEXT NOT NULL,
    body            TEXT NOT NULL DEFAULT '{}',
    PRIMARY KEY (run_id, seq)
);
