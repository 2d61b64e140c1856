-- Assignment decisions with the identity, entitlement, application and
-- the assignment's score; {where} filters (alias d).
SELECT d.usr_id, d.ent_id, d.is_certified, d.is_revoked, d.is_requested, d.is_processed, d.is_archived,
       d.reason, d.author, d.author_name, d.author_type, d.datasink_status, d.updated_at,
       i.usr_name, i.usr_manager_id, e.ent_name, e.app_id, p.app_name, a.score, a.freq, a.frequnion
FROM assignment_decisions d
LEFT JOIN identities i ON i.usr_id = d.usr_id
LEFT JOIN entitlements e ON e.ent_id = d.ent_id
LEFT JOIN applications p ON p.app_id = e.app_id
LEFT JOIN assignments a ON a.usr_id = d.usr_id AND a.ent_id = d.ent_id
WHERE {where}
ORDER BY d.usr_id, d.ent_id
