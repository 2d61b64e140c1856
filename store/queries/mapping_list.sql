SELECT mapping_id, source_entity, target_entity, properties, created_at, updated_at
FROM mappings ORDER BY mapping_id
