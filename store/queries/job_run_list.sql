SELECT run_id, job_name, job_type, status, params, jobs, trigger_kind, attempts, stages, COALESCE(message, ''),
       COALESCE(owner, ''), COALESCE(folder, ''), timeout_ms, created_at, started_at, ended_at, heartbeat_at
FROM runs
WHERE (CAST($1 AS TEXT) IS NULL OR run_id = $1)
  AND (CAST($2 AS TEXT) IS NULL OR job_name = $2)
  AND (CAST($3 AS TEXT) IS NULL OR status IN ('queued', 'running', 'cancelling'))
ORDER BY created_at DESC, run_id DESC
LIMIT $4
