-- Published rules with their entitlement, application and decision;
-- {where} filters, {limit} pages in (ent_id, justification) order.
SELECT r.ent_id, r.justification, r.freq, r.frequnion, r.confidence,
       e.ent_name, e.ent_owner_id, e.ent_criticality, e.ent_risk_level, e.app_id,
       p.app_name, p.app_owner_id, p.app_criticality, p.app_risk_level,
       rd.is_autocertify, rd.is_autorequest, rd.autocertify_reason, rd.autorequest_reason,
       rd.author, ai.usr_name, rd.datasink_status, rd.updated_at
FROM rules r
LEFT JOIN entitlements e ON e.ent_id = r.ent_id
LEFT JOIN applications p ON p.app_id = e.app_id
LEFT JOIN rule_decisions rd ON rd.ent_id = r.ent_id AND rd.justification = r.justification
LEFT JOIN identities ai ON ai.usr_id = rd.author
WHERE {where}
ORDER BY r.ent_id, r.justification
LIMIT {limit}
