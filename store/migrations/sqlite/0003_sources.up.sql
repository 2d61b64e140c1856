-- Data sources and mappings: where each entity comes from and how source
-- columns map to canonical ones. Written by 'autoid ingest' and the ingest
-- API; a load never touches them. The documents are kept whole as JSON.

CREATE TABLE data_sources (
    datasource_id   TEXT NOT NULL PRIMARY KEY,
    name            TEXT NOT NULL,
    connection_type TEXT NOT NULL,
    sync_type       TEXT NOT NULL,
    is_active       INTEGER NOT NULL,
    body            TEXT NOT NULL,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL
);

CREATE TABLE mappings (
    mapping_id      TEXT NOT NULL PRIMARY KEY,
    source_entity   TEXT NOT NULL,
    target_entity   TEXT NOT NULL,
    properties      TEXT NOT NULL,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL
);
CREATE INDEX mappings_target ON mappings (target_entity);
