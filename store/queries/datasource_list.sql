SELECT datasource_id, name, connection_type, sync_type, is_active, body, created_at, updated_at
FROM data_sources ORDER BY datasource_id
