-- Roles as served: mined roles with their edit applied, and custom roles
-- (edits of no mined role); {mined} and {custom} filter the two parts
-- (a member filter applies to mined roles only), {where} the union (alias t).
-- A role never acknowledged by a data sink is 'nack'.
SELECT t.role_id, t.status, t.custom_role, t.member_count, t.assignment_count, t.entitlements, t.justification,
       t.body, t.datasink_status, t.updated_at
FROM (
    SELECT r.role_id, COALESCE(x.status, r.status) AS status, COALESCE(x.custom_role, FALSE) AS custom_role,
           r.member_count, r.assignment_count, r.entitlements, r.justification, x.body,
           COALESCE(x.datasink_status, 'nack') AS datasink_status, x.updated_at
    FROM roles r LEFT JOIN role_edits x ON x.role_id = r.role_id
    WHERE {mined}
    UNION ALL
    SELECT x.role_id, x.status, x.custom_role, NULL, NULL, '[]', '[]', x.body,
           COALESCE(x.datasink_status, 'nack'), x.updated_at
    FROM role_edits x WHERE x.role_id NOT IN (SELECT role_id FROM roles) AND {custom}
) t
WHERE {where}
ORDER BY t.role_id
