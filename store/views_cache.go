package store

import (
	"context"
	"sync"
)

// viewCache keeps values that depend on the served publication only
// (the user search list, the rules by antecedent, the applications'
// figures), for the publication it was filled from: a view reads the
// publication's number (serving_runs.seq, one index lookup) and finds
// its value if it was computed since that publication. A load
// publishes the tables and its serving_runs row in one transaction, so
// a new number means new tables, whichever process loaded them.
type viewCache struct {
	mu      sync.Mutex
	seq     int64
	entries map[string]*cacheEntry
}

type cacheEntry struct {
	done chan struct{}
	v    any
	err  error
}

// publication is the served publication's number (0: none yet).
func (db *DB) publication(ctx context.Context) (int64, error) {
	var seq int64
	err := queryEach(ctx, db.b, "publication", `SELECT COALESCE(MAX(seq), 0) FROM serving_runs`, nil, func(r Rows) error {
		return r.Scan(&seq)
	})
	return seq, err
}

// cachedView returns key's value for the served publication, computed by
// fill the first time it is asked for (one fill at a time per key: the
// other callers wait for it). The publication is read before fill reads
// the tables, so a load in between makes the value look older than it
// is, never newer.
func cachedView[T any](ctx context.Context, db *DB, key string, fill func(context.Context) (T, error)) (T, error) {
	var zero T
	seq, err := db.publication(ctx)
	if err != nil {
		return zero, err
	}
	c := &db.views
	c.mu.Lock()
	if c.seq != seq || c.entries == nil {
		c.seq, c.entries = seq, map[string]*cacheEntry{}
	}
	e, ok := c.entries[key]
	if !ok {
		e = &cacheEntry{done: make(chan struct{})}
		c.entries[key] = e
	}
	c.mu.Unlock()
	if !ok {
		// The fill outlives the caller that started it (the others wait).
		e.v, e.err = fill(context.WithoutCancel(ctx))
		close(e.done)
		if e.err != nil {
			c.mu.Lock()
			if c.seq == seq && c.entries[key] == e {
				delete(c.entries, key)
			}
			c.mu.Unlock()
		}
	} else {
		select {
		case <-e.done:
		case <-ctx.Done():
			return zero, ctx.Err()
		}
	}
	if e.err != nil {
		return zero, e.err
	}
	return e.v.(T), nil
}
