package pipeline

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
)

// handler returns a slog handler that records each record, as one JSON
// object (slog's JSON handler), as a "log" event of the run.
func (s *eventSink) handler() slog.Handler {
	return slog.NewJSONHandler(eventWriter{s}, &slog.HandlerOptions{Level: slog.LevelDebug})
}

// eventWriter receives one JSON line per record from slog's JSON handler.
type eventWriter struct{ s *eventSink }

func (w eventWriter) Write(p []byte) (int, error) {
	w.s.addRaw("log", bytes.Clone(bytes.TrimRight(p, "\n")))
	return len(p), nil
}

// fanoutHandler sends each record to several handlers.
type fanoutHandler []slog.Handler

func fanout(hs []slog.Handler) slog.Handler {
	if len(hs) == 1 {
		return hs[0]
	}
	return fanoutHandler(hs)
}

func (f fanoutHandler) Enabled(ctx context.Context, l slog.Level) bool {
	for _, h := range f {
		if h.Enabled(ctx, l) {
			return true
		}
	}
	return false
}

func (f fanoutHandler) Handle(ctx context.Context, r slog.Record) error {
	var errs []error
	for _, h := range f {
		if h.Enabled(ctx, r.Level) {
			errs = append(errs, h.Handle(ctx, r.Clone()))
		}
	}
	return errors.Join(errs...)
}

func (f fanoutHandler) WithAttrs(as []slog.Attr) slog.Handler {
	out := make(fanoutHandler, len(f))
	for i, h := range f {
		out[i] = h.WithAttrs(as)
	}
	return out
}

func (f fanoutHandler) WithGroup(name string) slog.Handler {
	out := make(fanoutHandler, len(f))
	for i, h := range f {
		out[i] = h.WithGroup(name)
	}
	return out
}

// progressHandler passes records on and reads progress from them: a record
// with a "percent" attribute, or "done" and "total", updates the stage's
// progress (the ingest's reading records carry percent), so a stage's code
// reports progress by logging it.
type progressHandler struct {
	slog.Handler
	ss *stageState
}

func (h progressHandler) Handle(ctx context.Context, r slog.Record) error {
	var done, total int64 = -1, -1
	r.Attrs(func(a slog.Attr) bool {
		v := a.Value.Resolve()
		n, ok := int64(0), false
		switch v.Kind() {
		case slog.KindInt64:
			n, ok = v.Int64(), true
		case slog.KindUint64:
			n, ok = int64(v.Uint64()), true
		case slog.KindFloat64:
			n, ok = int64(v.Float64()), true
		}
		if !ok {
			return true
		}
		switch a.Key {
		case "percent":
			done, total = n, 100
		case "done":
			done = n
		case "total":
			total = n
		}
		return true
	})
	if done >= 0 && total > 0 {
		h.ss.progress(done, total)
	}
	return h.Handler.Handle(ctx, r)
}

func (h progressHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return progressHandler{Handler: h.Handler.WithAttrs(as), ss: h.ss}
}

func (h progressHandler) WithGroup(name string) slog.Handler {
	return progressHandler{Handler: h.Handler.WithGroup(name), ss: h.ss}
}
