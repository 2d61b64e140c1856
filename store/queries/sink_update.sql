-- Replace a data sink's fields (not its creation time).
UPDATE data_sinks SET name = $2, config = $3, auto_certify_timestamp = $4, auto_request_timestamp = $5,
    certify_timestamp = $6, revoke_timestamp = $7, role_publish_timestamp = $8, logs = $9, updated_at = $10
WHERE id = $1
