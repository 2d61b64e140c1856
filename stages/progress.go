package stages

import (
	"log/slog"
	"time"
)

// progress logs how far a long read has come, at most every interval:
// rows, bytes, rate and, when the size is known, percent and ETA.
type progress struct {
	log      *slog.Logger
	entity   string
	total    int64 // input bytes, 0 when unknown
	every    time.Duration
	start    time.Time
	last     time.Time
	rows     int64
	bytes    int64
	disabled bool
}

func newProgress(log *slog.Logger, entity string, total int64) *progress {
	now := time.Now()
	return &progress{log: log, entity: entity, total: total, every: 5 * time.Second, start: now, last: now, disabled: log == nil}
}

func (p *progress) add(rows, bytes int) {
	if p.disabled {
		return
	}
	p.rows += int64(rows)
	p.bytes += int64(bytes)
	now := time.Now()
	if now.Sub(p.last) < p.every {
		return
	}
	p.last = now
	secs := now.Sub(p.start).Seconds()
	attrs := []any{"entity", p.entity, "rows", p.rows, "mb", p.bytes >> 20, "mb_per_s", int(float64(p.bytes) / secs / (1 << 20))}
	if p.total > 0 && p.bytes > 0 {
		frac := float64(p.bytes) / float64(p.total)
		attrs = append(attrs, "percent", int(100*frac), "eta_s", int(secs/frac-secs))
	}
	p.log.Info("reading", attrs...)
}
