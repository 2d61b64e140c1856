DROP INDEX runs_active_key;
ALTER TABLE runs DROP COLUMN active_key;
ALTER TABLE runs DROP COLUMN timeout_ms;
ALTER TABLE runs DROP COLUMN folder;
ALTER TABLE runs DROP COLUMN owner;
ALTER TABLE runs DROP COLUMN heartbeat_at;
ALTER TABLE runs DROP COLUMN stages;
ALTER TABLE runs DROP COLUMN attempts;
ALTER TABLE runs DROP COLUMN trigger_kind;
ALTER TABLE runs DROP COLUMN jobs;

ALTER TABLE job_definitions DROP COLUMN timeout_ms;
ALTER TABLE job_definitions DROP COLUMN overlap;
ALTER TABLE job_definitions DROP COLUMN schedule;
