SELECT job_name, job_type, job_parameters, COALESCE(schedule, ''), overlap, timeout_ms, created_at, updated_at
FROM job_definitions
WHERE (CAST($1 AS TEXT) IS NULL OR job_name = $1)
ORDER BY job_name
