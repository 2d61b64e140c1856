INSERT INTO job_definitions (job_name, job_type, job_parameters, schedule, overlap, timeout_ms, created_at, updated_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $7)
ON CONFLICT (job_name) DO UPDATE SET
    job_type = excluded.job_type, job_parameters = excluded.job_parameters, schedule = excluded.schedule,
    overlap = excluded.overlap, timeout_ms = excluded.timeout_ms, updated_at = excluded.updated_at
