INSERT INTO job_definitions (job_name, job_type, job_parameters, schedule, overlap, timeout_ms, created_at, updated_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $7)
ON CONFLICT (job_name) DO NOTHING
