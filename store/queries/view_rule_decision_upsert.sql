-- Record the decision on a rule (entitlement, sorted justification).
INSERT INTO rule_decisions (ent_id, justification, is_autocertify, is_autorequest,
    autocertify_reason, autorequest_reason, author, datasink_status, updated_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
ON CONFLICT (ent_id, justification) DO UPDATE SET
    is_autocertify = excluded.is_autocertify, is_autorequest = excluded.is_autorequest,
    autocertify_reason = excluded.autocertify_reason, autorequest_reason = excluded.autorequest_reason,
    author = excluded.author, datasink_status = excluded.datasink_status, updated_at = excluded.updated_at
