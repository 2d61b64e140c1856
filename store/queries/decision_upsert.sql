INSERT INTO assignment_decisions (usr_id, ent_id, is_certified, is_revoked, is_requested, is_processed, is_archived,
    reason, author, author_name, author_type, datasink_status, updated_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
ON CONFLICT (usr_id, ent_id) DO UPDATE SET
    is_certified = excluded.is_certified, is_revoked = excluded.is_revoked,
    is_requested = excluded.is_requested, is_processed = excluded.is_processed,
    is_archived = excluded.is_archived, reason = excluded.reason, author = excluded.author,
    author_name = excluded.author_name, author_type = excluded.author_type,
    datasink_status = excluded.datasink_status, updated_at = excluded.updated_at
