package store

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestDataSinks(t *testing.T) {
	forEachBackend(t, func(t *testing.T, h harness) {
		db, _, _ := h.open(t)
		ctx := context.Background()
		day := func(d int) time.Time { return time.Date(2021, 11, d, 10, 0, 0, 937e6, time.UTC) }
		if err := db.CreateDataSink(ctx, DataSink{ID: "a", Name: "IIQ", Timestamps: map[SinkTimestamp]time.Time{SinkCertify: day(19)}}); err != nil {
			t.Fatal(err)
		}
		if err := db.CreateDataSink(ctx, DataSink{ID: "b", Name: "IIQ", Timestamps: map[SinkTimestamp]time.Time{SinkCertify: day(20)}}); err != nil {
			t.Fatal(err)
		}
		if err := db.CreateDataSink(ctx, DataSink{ID: "a", Name: "x"}); !errors.Is(err, ErrConflict) {
			t.Fatalf("duplicate: %v", err)
		}
		ids := func(q SinkQuery) []string {
			t.Helper()
			ss, err := db.DataSinks(ctx, q)
			if err != nil {
				t.Fatal(err)
			}
			var out []string
			for _, s := range ss {
				out = append(out, s.ID)
			}
			return out
		}
		d19, d20 := day(19), day(20)
		for _, c := range []struct {
			r    TimeRange
			want int
		}{
			{TimeRange{Gt: &d19}, 1}, {TimeRange{Gte: &d19}, 2}, {TimeRange{Lt: &d20}, 1}, {TimeRange{Lte: &d20}, 2},
			{TimeRange{Gt: &d19, Lt: &d20}, 0},
		} {
			if got := ids(SinkQuery{Ranges: map[SinkTimestamp]TimeRange{SinkCertify: c.r}}); len(got) != c.want {
				t.Errorf("%+v: %v", c.r, got)
			}
		}
		if _, err := db.DataSinks(ctx, SinkQuery{Ranges: map[SinkTimestamp]TimeRange{SinkCertify: {Gt: &d19, Gte: &d19}}}); !errors.Is(err, ErrBadInput) {
			t.Errorf("gt with gte: %v", err)
		}
		if err := db.SetDataSinkTimestamps(ctx, "a", map[SinkTimestamp]time.Time{SinkRevoke: d20}); err != nil {
			t.Fatal(err)
		}
		ss, _ := db.DataSinks(ctx, SinkQuery{ID: "a"})
		if len(ss) != 1 || !ss[0].Timestamps[SinkRevoke].Equal(d20) || !ss[0].Timestamps[SinkCertify].Equal(d19) {
			t.Fatalf("timestamps: %+v", ss)
		}
		if err := db.DeleteDataSink(ctx, "a"); err != nil {
			t.Fatal(err)
		}
		if err := db.DeleteDataSink(ctx, "a"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("delete twice: %v", err)
		}
	})
}
