package gen

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
	"sync"
	"time"
)

// Last-used timestamps are drawn within the two years before this day.
var referenceDay = time.Date(2025, 6, 30, 0, 0, 0, 0, time.UTC)

const historyDays = 730

// asgRec is one assignment in compact form; lu is the last-used time as
// days*86400 + second of day before referenceDay, or -1 for never.
type asgRec struct {
	usr, ent, lu int32
}

type asgPair struct {
	usr, ent int32
}

// chunk is the output of a run of consecutive identities.
type chunk struct {
	seq   int
	lo    int
	csv   []byte   // formatted assignment rows (CSV output)
	recs  []asgRec // assignments (Parquet output)
	noise []asgPair
	rows  int64
}

// worker generates the assignments of identities; each identity has its own
// random stream, so the result does not depend on how identities are split
// among workers.
type worker struct {
	c      *company
	src    *rand.PCG
	r      *rand.Rand
	stamp  []uint32
	held   []uint32 // ent<<1 | noise flag
	csv    bool
	usrCSV []string
	entCSV []string
	days   []string
}

// timestampPrefixes returns "YYYY-MM-DDT" for each day before referenceDay.
func timestampPrefixes() []string {
	days := make([]string, historyDays)
	for d := range days {
		days[d] = referenceDay.AddDate(0, 0, -d).Format("2006-01-02T")
	}
	return days
}

func appendTimestamp(dst []byte, days []string, lu int32) []byte {
	d, s := lu/86400, lu%86400
	dst = append(dst, days[d]...)
	hh, mm, ss := s/3600, s/60%60, s%60
	return append(dst, byte('0'+hh/10), byte('0'+hh%10), ':', byte('0'+mm/10), byte('0'+mm%10), ':',
		byte('0'+ss/10), byte('0'+ss%10), 'Z')
}

func (w *worker) seed(i int) {
	s := w.c.cfg.Seed
	w.src.Seed(splitmix64(s^splitmix64(uint64(i))), splitmix64(uint64(i)+0x51ed2701f3a5c7b9))
}

func (w *worker) add(e int32, noise bool, stamp uint32) bool {
	if w.stamp[e] == stamp {
		return false
	}
	w.stamp[e] = stamp
	v := uint32(e) << 1
	if noise {
		v |= 1
	}
	w.held = append(w.held, v)
	return true
}

// identity generates the assignments of identity i into ch.
func (w *worker) identity(i int, ch *chunk) {
	c, r := w.c, w.r
	w.seed(i)
	stamp := uint32(i) + 1
	w.held = w.held[:0]
	for _, b := range c.birth {
		if b.attr >= 0 && c.attrs[b.attr].col[i] != b.val {
			continue
		}
		if r.Float64() < c.cfg.BirthrightProb {
			w.add(b.ent, false, stamp)
		}
	}
	for a, idx := range c.ruleIdx {
		if idx.start == nil {
			continue
		}
		v := c.attrs[a].col[i]
	rules:
		for _, ri := range idx.rules[idx.start[v]:idx.start[v+1]] {
			ru := &c.rules[ri]
			for _, it := range ru.items {
				if c.attrs[it.attr].col[i] != it.val {
					continue rules
				}
			}
			for _, e := range ru.ents {
				if r.Float64() < ru.fire {
					w.add(e, false, stamp)
				}
			}
		}
	}
	nonBirth := len(c.ents) - c.nBirth
	for range poisson(r, c.noiseLambda) {
		for try := 0; try < 8; try++ {
			var e int32
			if c.noiseModel == NoiseMisplaced {
				ru := &c.rules[c.noiseRules.pick(r)]
				e = ru.ents[r.IntN(len(ru.ents))]
				if c.grants(e, i) {
					continue
				}
			} else {
				e = int32(c.nBirth + r.IntN(nonBirth))
			}
			if w.add(e, true, stamp) {
				ch.noise = append(ch.noise, asgPair{usr: int32(i), ent: e})
				break
			}
		}
	}
	slices.Sort(w.held)
	for _, v := range w.held {
		e, noise := int32(v>>1), v&1 == 1
		lu := int32(-1)
		if noise {
			if r.Float64() >= 0.3 {
				lu = int32(r.IntN(historyDays))*86400 + int32(r.IntN(86400))
			}
		} else if r.Float64() >= 0.07 {
			d := min(historyDays-1, int(r.ExpFloat64()*20))
			lu = int32(d)*86400 + int32(r.IntN(86400))
		}
		ch.rows++
		if !w.csv {
			ch.recs = append(ch.recs, asgRec{usr: int32(i), ent: e, lu: lu})
			continue
		}
		b := append(ch.csv, w.usrCSV[i]...)
		b = append(b, ',')
		b = append(b, w.entCSV[e]...)
		b = append(b, ',')
		if lu >= 0 {
			b = appendTimestamp(b, w.days, lu)
		}
		ch.csv = append(b, '\n')
	}
}

// asgSink consumes chunks in identity order.
type asgSink interface {
	writeChunk(ch *chunk) error
}

type csvAsgSink struct{ t *csvTable }

func (s csvAsgSink) writeChunk(ch *chunk) error { return s.t.writeRaw(ch.csv, ch.rows) }

type parquetAsgSink struct {
	t    *parquetTable
	c    *company
	days []string
	buf  []byte
}

func (s *parquetAsgSink) writeChunk(ch *chunk) error {
	usr, ent, lu := s.t.cols[0], s.t.cols[1], s.t.cols[2]
	for _, a := range ch.recs {
		usr.Append(s.c.usrID[a.usr])
		ent.Append(s.c.ents[a.ent].id)
		if a.lu < 0 {
			lu.AppendNull()
		} else {
			s.buf = appendTimestamp(s.buf[:0], s.days, a.lu)
			lu.BinaryBuilder.Append(s.buf)
		}
		if err := s.t.rowDone(); err != nil {
			return err
		}
	}
	return nil
}

// generateAssignments produces every identity's assignments on parallel
// workers and hands the chunks to sink and the noise pairs to noise, both in
// identity order. At most a few chunks per worker are in memory.
func (c *company) generateAssignments(ctx context.Context, csv bool, sink asgSink, noise tableWriter, progress io.Writer) (rows, noiseRows int64, err error) {
	workers := c.cfg.workers()
	perIdentity := max(1, c.cfg.Assignments/int64(c.n))
	chunkSize := int(max(16, min(4096, 32768/perIdentity)))
	nChunks := (c.n + chunkSize - 1) / chunkSize

	usrCSV := make([]string, c.n)
	for i, s := range c.usrID {
		usrCSV[i] = csvQuote(s)
	}
	entCSV := make([]string, len(c.ents))
	for e, x := range c.ents {
		entCSV[e] = csvQuote(x.id)
	}
	days := timestampPrefixes()

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	inFlight := 2*workers + 2
	tokens := make(chan struct{}, inFlight)
	free := make(chan *chunk, inFlight)
	jobs := make(chan int)
	results := make(chan *chunk, inFlight)

	go func() {
		defer close(jobs)
		for s := range nChunks {
			select {
			case tokens <- struct{}{}:
			case <-ctx.Done():
				return
			}
			select {
			case jobs <- s:
			case <-ctx.Done():
				return
			}
		}
	}()
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			src := rand.NewPCG(0, 0)
			w := &worker{c: c, src: src, r: rand.New(src), stamp: make([]uint32, len(c.ents)),
				csv: csv, usrCSV: usrCSV, entCSV: entCSV, days: days}
			for s := range jobs {
				var ch *chunk
				select {
				case ch = <-free:
				default:
					ch = &chunk{}
				}
				ch.seq, ch.lo, ch.rows = s, s*chunkSize, 0
				ch.csv, ch.recs, ch.noise = ch.csv[:0], ch.recs[:0], ch.noise[:0]
				for i := ch.lo; i < min(c.n, ch.lo+chunkSize); i++ {
					w.identity(i, ch)
				}
				select {
				case results <- ch:
				case <-ctx.Done():
					return
				}
			}
		}()
	}
	go func() {
		wg.Wait()
		close(results)
	}()

	start := time.Now()
	pending := map[int]*chunk{}
	next, lastPct := 0, 0
	fields := make([]string, 2)
	for ch := range results {
		if err != nil {
			continue // drain
		}
		pending[ch.seq] = ch
		for {
			ch, ok := pending[next]
			if !ok {
				break
			}
			delete(pending, next)
			if cerr := context.Cause(ctx); cerr != nil {
				err = fmt.Errorf("generate assignments: %w", cerr)
				break
			}
			if err = sink.writeChunk(ch); err != nil {
				break
			}
			for _, p := range ch.noise {
				fields[0], fields[1] = c.usrID[p.usr], c.ents[p.ent].id
				if err = noise.writeRow(fields); err != nil {
					break
				}
			}
			if err != nil {
				break
			}
			rows += ch.rows
			noiseRows += int64(len(ch.noise))
			next++
			select {
			case free <- ch:
			default:
			}
			<-tokens
			if pct := next * 100 / nChunks; progress != nil && pct/10 > lastPct/10 {
				lastPct = pct
				fmt.Fprintf(progress, "gen: assignments %3d%% (%d rows, %.1fs)\n", pct, rows, time.Since(start).Seconds())
			}
		}
		if err != nil {
			cancel()
		}
	}
	if err != nil {
		return rows, noiseRows, err
	}
	if next < nChunks {
		if cerr := context.Cause(ctx); cerr != nil {
			return rows, noiseRows, fmt.Errorf("generate assignments: %w", cerr)
		}
		return rows, noiseRows, fmt.Errorf("generate assignments: stopped after %d of %d chunks", next, nChunks)
	}
	return rows, noiseRows, nil
}
