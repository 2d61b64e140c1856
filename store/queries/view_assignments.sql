-- Published assignments with their identity, entitlement, application and
-- decision; {where} filters (alias a: assignments), {order} and {limit}
-- page.
SELECT a.usr_id, a.ent_id, i.usr_name, i.usr_manager_id, e.ent_name, a.app_id, p.app_name,
       e.ent_owner_id, p.app_owner_id, e.ent_risk_level,
       a.score, a.justification, a.freq, a.frequnion, a.last_used,
       d.is_certified, d.is_revoked, d.is_requested, d.is_processed, d.is_archived,
       d.reason, d.author, d.author_name, d.author_type, d.datasink_status, d.updated_at
FROM assignments a
LEFT JOIN identities i ON i.usr_id = a.usr_id
LEFT JOIN entitlements e ON e.ent_id = a.ent_id
LEFT JOIN applications p ON p.app_id = a.app_id
LEFT JOIN assignment_decisions d ON d.usr_id = a.usr_id AND d.ent_id = a.ent_id
WHERE {where}
ORDER BY {order}
LIMIT {limit}
