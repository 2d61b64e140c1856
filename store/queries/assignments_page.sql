-- One page of published assignments after the cursor (usr_id, ent_id) in
-- byte order; each filter applies when its parameter is not null.
SELECT a.usr_id, a.ent_id, a.app_id, a.score, a.band, a.justification, a.freq, a.frequnion
FROM assignments a
WHERE (CAST($1 AS TEXT) IS NULL OR a.usr_id = $1)
  AND (CAST($2 AS TEXT) IS NULL OR a.ent_id = $2)
  AND (CAST($3 AS TEXT) IS NULL OR a.app_id = $3)
  AND (CAST($4 AS TEXT) IS NULL OR (a.usr_id, a.ent_id) > (CAST($4 AS TEXT), CAST($5 AS TEXT)))
ORDER BY a.usr_id, a.ent_id
LIMIT $6
