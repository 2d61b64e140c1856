-- A new queued run; with an active key, only when no active run holds it.
INSERT INTO runs (run_id, job_name, job_type, status, params, jobs, trigger_kind, timeout_ms, owner, folder, active_key, created_at)
SELECT CAST($1 AS TEXT), CAST($2 AS TEXT), CAST($3 AS TEXT), 'queued', CAST($4 AS TEXT), CAST($5 AS TEXT), CAST($6 AS TEXT),
       CAST($7 AS BIGINT), CAST($8 AS TEXT), CAST($9 AS TEXT), CAST($10 AS TEXT), CAST($11 AS BIGINT)
WHERE CAST($10 AS TEXT) IS NULL OR NOT EXISTS (SELECT 1 FROM runs WHERE active_key = CAST($10 AS TEXT))
