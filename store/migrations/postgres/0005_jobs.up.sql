-- The pipeline engine: job definitions gain a schedule, an overlap policy
-- and a timeout; runs gain the targets they were asked for, attempts, the
-- per-stage progress (JSON), a heartbeat and the process that owns them.
-- active_key is the definition's name while a run of a definition with
-- overlap policy 'skip' is queued, running or cancelling (else NULL), so a
-- unique index refuses a second one. Timestamps are microseconds since the
-- epoch (UTC).

ALTER TABLE job_definitions ADD COLUMN schedule TEXT;
ALTER TABLE job_definitions ADD COLUMN overlap TEXT COLLATE "C" NOT NULL DEFAULT 'skip';
ALTER TABLE job_definitions ADD COLUMN timeout_ms BIGINT NOT NULL DEFAULT 0;

ALTER TABLE runs ADD COLUMN jobs TEXT NOT NULL DEFAULT '[]';
ALTER TABLE runs ADD COLUMN trigger_kind TEXT COLLATE "C" NOT NULL DEFAULT 'cli';
ALTER TABLE runs ADD COLUMN attempts BIGINT NOT NULL DEFAULT 0;
ALTER TABLE runs ADD COLUMN stages TEXT NOT NULL DEFAULT '[]';
ALTER TABLE runs ADD COLUMN heartbeat_at BIGINT;
ALTER TABLE runs ADD COLUMN owner TEXT COLLATE "C";
ALTER TABLE runs ADD COLUMN folder TEXT;
ALTER TABLE runs ADD COLUMN timeout_ms BIGINT NOT NULL DEFAULT 0;
ALTER TABLE runs ADD COLUMN active_key TEXT COLLATE "C";
CREATE UNIQUE INDEX runs_active_key ON runs (active_key);
