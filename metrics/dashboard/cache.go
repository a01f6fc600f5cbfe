package dashboard

import (
	"container/list"
	"context"
	"database/sql"
	"fmt"
	"math"
	"runtime"
	"slices"
	"sync"

	"github.com/cleval/cleval/metrics"
	"github.com/cleval/cleval/metrics/store"
)

// cache keeps recently used series in memory, bounded in bytes (least
// recently used first out). Series of finished runs never change; series
// of running runs grow by the rows after the last iteration read.
type cache struct {
	mu    sync.Mutex
	max   int64
	size  int64
	order *list.List // of *cacheItem, most recent first
	items map[string]*list.Element
}

type cacheItem struct {
	key  string
	size int64
	val  any
}

func newCache(max int64) *cache {
	return &cache{max: max, order: list.New(), items: map[string]*list.Element{}}
}

// get returns the value of key, or makes it with mk.
func (c *cache) get(key string, mk func() any) any {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.items[key]; ok {
		c.order.MoveToFront(e)
		return e.Value.(*cacheItem).val
	}
	v := mk()
	c.items[key] = c.order.PushFront(&cacheItem{key: key, val: v})
	return v
}

// resize records the new size of key's value and evicts the least
// recently used values beyond the bound (never key itself).
func (c *cache) resize(key string, size int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.items[key]
	if !ok {
		return
	}
	it := e.Value.(*cacheItem)
	c.size += size - it.size
	it.size = size
	for c.size > c.max {
		old := c.order.Back()
		if old == nil || old == e {
			break
		}
		oi := old.Value.(*cacheItem)
		c.order.Remove(old)
		delete(c.items, oi.key)
		c.size -= oi.size
	}
}

// runSeries holds the continual-evaluation curves of one variant of one
// run: the evaluation points and, per experience, the accuracy and the
// mean loss at each point (NaN where the experience was not evaluated).
type runSeries struct {
	mu     sync.Mutex
	runID  int64
	numExp int
	its    []int
	acc    [][]float64 // [k-1][point]
	loss   [][]float64
	last   int  // last iteration read; -1 before any
	final  bool // the run had ended when its rows were read: no more will come
}

func (rs *runSeries) bytes() int64 {
	return int64(len(rs.its)) * int64(8+16*rs.numExp)
}

// series returns the up-to-date curves of (run, variant): read from the
// database the first time, then only the evaluation points after the last
// one read while the run is running. The caller must hold rs.mu while it
// uses the slices.
func (s *Server) series(ctx context.Context, runID int64, numExp int, variant string) (*runSeries, error) {
	key := fmt.Sprintf("s/%d/%s", runID, variant)
	rs := s.cache.get(key, func() any { return &runSeries{runID: runID, numExp: numExp, last: -1} }).(*runSeries)
	rs.mu.Lock()
	if rs.final {
		return rs, nil
	}
	if err := s.refresh(ctx, rs, variant); err != nil {
		rs.mu.Unlock()
		return nil, err
	}
	s.cache.resize(key, rs.bytes())
	return rs, nil
}

// refresh reads the rows after rs.last. The status is read first: when the
// run had ended then, the rows read after it are all there will be.
func (s *Server) refresh(ctx context.Context, rs *runSeries, variant string) error {
	db := s.db.SQL()
	var status string
	if err := db.QueryRowContext(ctx, `SELECT status FROM runs WHERE id = ?`, rs.runID).Scan(&status); err != nil {
		if err == sql.ErrNoRows {
			return fmt.Errorf("dashboard: run %d is gone from the database", rs.runID)
		}
		return fmt.Errorf("dashboard: run %d: %w", rs.runID, err)
	}
	T := rs.numExp
	if rs.acc == nil {
		rs.acc, rs.loss = make([][]float64, T), make([][]float64, T)
	}
	// A first read of many points is cut in ranges of iterations read at
	// once on several connections.
	bounds := []int{rs.last, math.MaxInt32}
	hint, maxIt := 0, math.MaxInt32 // points expected, last iteration
	if rs.last < 0 {
		var m sql.NullInt64
		if err := db.QueryRowContext(ctx, `SELECT max(iteration) FROM evaluations WHERE run_id = ? AND variant = ?`, rs.runID, variant).Scan(&m); err != nil {
			return fmt.Errorf("dashboard: run %d evaluations: %w", rs.runID, err)
		}
		maxIt = int(min(m.Int64, math.MaxInt32-1))
		hint = maxIt + 1
		if maxIt > s.splitAbove {
			// A long run: how its records and points are spread, for
			// the ranges and the size of the slices (a run evaluated
			// every few iterations has fewer points than iterations).
			d, err := s.density(ctx, rs.runID, variant, maxIt)
			if err != nil {
				return err
			}
			hint = min(hint, int(1.05*d.points())+1024)
			if parts := s.readers(); parts > 1 {
				bounds = append(append([]int{-1}, d.cuts(parts)...), math.MaxInt32)
			}
		}
	}
	chunks := make([]*runSeries, len(bounds)-1)
	errs := make([]error, len(chunks))
	var wg sync.WaitGroup
	for i := range chunks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// The first range of a first read is made room for the
			// others: they are appended to it. The others hold about
			// their share of the iterations' points.
			h := hint
			if i > 0 || rs.its != nil {
				span := max(0, min(bounds[i+1], maxIt)-bounds[i])
				h = min(hint, int(1.1*float64(hint)*float64(span)/float64(maxIt+1))+64)
			}
			chunks[i], errs[i] = s.readRange(ctx, rs.runID, variant, T, bounds[i], bounds[i+1], h)
		}()
	}
	wg.Wait()
	n := len(rs.its)
	for i, c := range chunks {
		if errs[i] != nil {
			return errs[i]
		}
		n += len(c.its)
	}
	if rs.its == nil {
		rs.its, rs.acc, rs.loss = chunks[0].its, chunks[0].acc, chunks[0].loss
		chunks = chunks[1:]
	}
	rs.its = slices.Grow(rs.its, n-len(rs.its))
	for k := range T {
		rs.acc[k], rs.loss[k] = slices.Grow(rs.acc[k], n-len(rs.acc[k])), slices.Grow(rs.loss[k], n-len(rs.loss[k]))
	}
	for _, c := range chunks {
		rs.its = append(rs.its, c.its...)
		for k := range T {
			rs.acc[k] = append(rs.acc[k], c.acc[k]...)
			rs.loss[k] = append(rs.loss[k], c.loss[k]...)
		}
	}
	if n := len(rs.its); n > 0 {
		rs.last = rs.its[n-1]
	}
	rs.final = status != string(metrics.RunRunning)
	return nil
}

// splitAbove is the number of iterations above which a first read is cut
// in ranges read in parallel (Server.splitAbove; tests lower it).
const splitAbove = 20000

// density is how a run's records and points (iterations with records)
// are spread over its iterations [0, maxIt], from counts in a short window
// at the start of each of nSlices equal slices.
type density struct {
	maxIt int
	// records[j] and its[j] estimate the records and points before
	// slice j.
	records, its [nSlices + 1]float64
}

const nSlices = 32

// edge is the first iteration of slice j.
func (d *density) edge(j int) int { return int(int64(d.maxIt+1) * int64(j) / nSlices) }

// points estimates the run's points.
func (d *density) points() float64 { return d.its[nSlices] }

func (s *Server) density(ctx context.Context, runID int64, variant string, maxIt int) (*density, error) {
	const window = 128
	st, err := s.db.SQL().PrepareContext(ctx, `SELECT count(*), count(DISTINCT iteration) FROM evaluations
		WHERE run_id = ? AND variant = ? AND iteration >= ? AND iteration < ?`)
	if err != nil {
		return nil, fmt.Errorf("dashboard: run %d evaluations: %w", runID, err)
	}
	defer st.Close()
	d := &density{maxIt: maxIt}
	for j := range nSlices {
		lo, hi := d.edge(j), d.edge(j+1)
		w := min(window, hi-lo)
		var recs, its int
		if err := st.QueryRowContext(ctx, runID, variant, lo, lo+w).Scan(&recs, &its); err != nil {
			return nil, fmt.Errorf("dashboard: run %d evaluations: %w", runID, err)
		}
		d.records[j+1] = d.records[j] + float64(recs)/float64(w)*float64(hi-lo)
		d.its[j+1] = d.its[j] + float64(its)/float64(w)*float64(hi-lo)
	}
	return d, nil
}

// cuts returns parts-1 increasing iterations that cut [0, maxIt] in ranges
// of about as many records each: a run evaluates more experiences as it
// goes (the seen ones), so ranges of equal length would leave one reader
// with most of the work.
func (d *density) cuts(parts int) []int {
	mass := d.records
	cuts := make([]int, 0, parts-1)
	for i := 1; i < parts; i++ {
		// The iteration where the mass reaches i/parts of the whole
		// (equal lengths when nothing was counted).
		cut := int(int64(d.maxIt) * int64(i) / int64(parts))
		if total := mass[nSlices]; total > 0 {
			target := total * float64(i) / float64(parts)
			j := 0
			for j < nSlices-1 && mass[j+1] < target {
				j++
			}
			f := 0.0
			if m := mass[j+1] - mass[j]; m > 0 {
				f = (target - mass[j]) / m
			}
			cut = d.edge(j) + int(f*float64(d.edge(j+1)-d.edge(j)))
		}
		if n := len(cuts); n > 0 && cut <= cuts[n-1] {
			cut = cuts[n-1] + 1
		}
		cuts = append(cuts, min(cut, d.maxIt))
	}
	return cuts
}

// readers is the number of ranges a first read is cut in: one per
// processor, at most the database's connections (Server.parts when set).
func (s *Server) readers() int {
	if s.parts > 0 {
		return s.parts
	}
	n := runtime.GOMAXPROCS(0)
	if c := s.db.SQL().Stats().MaxOpenConnections; c > 0 {
		n = min(n, c)
	}
	return max(1, min(n, 8))
}

// readRange reads the curves of the iterations in (after, upTo]; hint is
// the number of points expected.
func (s *Server) readRange(ctx context.Context, runID int64, variant string, T, after, upTo, hint int) (*runSeries, error) {
	c := &runSeries{acc: make([][]float64, T), loss: make([][]float64, T)}
	// The slices are kept at their capacity, NaN beyond the n points
	// read, and grown (NaN-filled) a block at a time: a new point costs no
	// append per curve.
	n := 0
	grow := func(size int) {
		c.its = slices.Grow(c.its[:n], size-n)[:size]
		for k := range T {
			c.acc[k] = nanFill(slices.Grow(c.acc[k][:n], size-n)[:size], n)
			c.loss[k] = nanFill(slices.Grow(c.loss[k][:n], size-n)[:size], n)
		}
	}
	grow(max(hint, 64))
	last := -1 // iteration of point n-1
	err := s.db.EachRecords(ctx, runID, variant, after, upTo, func(b *store.Records) error {
		its, exps, correct, total, lossSum := b.Iteration, b.Exp, b.Correct, b.Total, b.LossSum
		for i, it := range its {
			k := int(exps[i]) - 1
			if k < 0 || k >= T {
				continue // not an experience of the stream: nothing to draw
			}
			if n == 0 || last != int(it) {
				if n == len(c.its) {
					grow(2 * n)
				}
				last = int(it)
				c.its[n] = last
				n++
			}
			if tot := total[i]; tot > 0 {
				c.acc[k][n-1] = float64(correct[i]) / float64(tot)
				c.loss[k][n-1] = lossSum[i] / float64(tot)
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("dashboard: run %d: %w", runID, err)
	}
	c.its = c.its[:n]
	for k := range T {
		c.acc[k], c.loss[k] = c.acc[k][:n], c.loss[k][:n]
	}
	return c, nil
}

// nanFill sets x[from:] to NaN and returns x.
func nanFill(x []float64, from int) []float64 {
	nan := math.NaN()
	for i := from; i < len(x); i++ {
		x[i] = nan
	}
	return x
}

// pointSeries caches a per-iteration series of package metrics (WC-ACC,
// average accuracy, A_k) of one finished run.
type pointSeries struct {
	once sync.Once
	pts  []metrics.Point
	err  error
}

// drop forgets key.
func (c *cache) drop(key string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.items[key]; ok {
		c.size -= e.Value.(*cacheItem).size
		c.order.Remove(e)
		delete(c.items, key)
	}
}
