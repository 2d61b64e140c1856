SELECT usr_id, ent_id, is_certified, is_revoked, is_requested, is_processed, is_archived,
    reason, author, author_name, author_type, datasink_status, updated_at,
    (SELECT COUNT(*) FROM assignment_decision_history h WHERE h.usr_id = d.usr_id AND h.ent_id = d.ent_id)
FROM assignment_decisions d
WHERE usr_id = $1 AND ent_id = $2
