INSERT INTO data_sources (datasource_id, name, connection_type, sync_type, is_active, body, created_at, updated_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $7)
ON CONFLICT (datasource_id) DO UPDATE SET
    name = excluded.name, connection_type = excluded.connection_type, sync_type = excluded.sync_type,
    is_active = excluded.is_active, body = excluded.body, updated_at = excluded.updated_at
