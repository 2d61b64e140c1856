-- Recommendations with their entitlement, application and the
-- entitlement owner's name; {where} filters (alias r), {order}, {limit}.
SELECT r.usr_id, r.ent_id, r.confidence, r.freq, r.frequnion, r.justification, r.rank,
       e.ent_name, e.app_id, p.app_name, e.ent_owner_id, o.usr_name, p.app_owner_id, e.ent_risk_level
FROM recommendations r
LEFT JOIN entitlements e ON e.ent_id = r.ent_id
LEFT JOIN applications p ON p.app_id = e.app_id
LEFT JOIN identities o ON o.usr_id = e.ent_owner_id
WHERE {where}
ORDER BY {order}
LIMIT {limit}
