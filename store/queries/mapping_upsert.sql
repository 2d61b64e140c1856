INSERT INTO mappings (mapping_id, source_entity, target_entity, properties, created_at, updated_at)
VALUES ($1, $2, $3, $4, $5, $5)
ON CONFLICT (mapping_id) DO UPDATE SET
    source_entity = excluded.source_entity, target_entity = excluded.target_entity,
    properties = excluded.properties, updated_at = excluded.updated_at
