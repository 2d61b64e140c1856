-- Create a data sink; nothing when the id exists (the caller reports the conflict).
INSERT INTO data_sinks (id, name, config, auto_certify_timestamp, auto_request_timestamp, certify_timestamp,
    revoke_timestamp, role_publish_timestamp, logs, created_at, updated_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
ON CONFLICT (id) DO NOTHING
