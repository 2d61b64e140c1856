INSERT INTO assignment_decision_history (usr_id, ent_id, is_certified, is_revoked, is_requested, is_processed, is_archived,
    reason, author, datasink_status, recorded_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
