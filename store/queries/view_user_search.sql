-- Identities whose lower-cased id or name contains {pattern} (a LIKE
-- pattern), with whether each owns an application or an entitlement or
-- manages someone.
SELECT s.usr_id, s.usr_name,
       (SELECT COUNT(*) FROM applications p WHERE p.app_owner_id = s.usr_id),
       (SELECT COUNT(*) FROM entitlements e WHERE e.ent_owner_id = s.usr_id),
       (SELECT COUNT(*) FROM identities i WHERE i.usr_manager_id = s.usr_id)
FROM user_search s
WHERE s.search_text LIKE {pattern} ESCAPE '\'
ORDER BY s.usr_id
LIMIT {limit}
