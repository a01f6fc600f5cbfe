package dashboard

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/cleval/cleval/metrics"
	"github.com/cleval/cleval/metrics/store"
)

// ExperienceJSON is one experience of /api/run.
type ExperienceJSON struct {
	Exp       int     `json:"exp"`
	Classes   []int32 `json:"classes"`
	Task      int     `json:"task"`
	TrainSize int     `json:"train_size"`
	TestSize  int     `json:"test_size"`
	EvalSize  int     `json:"eval_size"`
	// Start is e_{k-1} (0 for the first); End is e_k, null until the
	// experience ends.
	Start *int `json:"start"`
	End   *int `json:"end"`
}

// GapJSON is the stability gap of experience K at the transition into J,
// from the stored metrics; TroughIteration and Trough place it on the
// chart (e_{J-1} + time to trough, and the accuracy there).
type GapJSON struct {
	Variant         string   `json:"variant"`
	K               int      `json:"k"`
	J               int      `json:"j"`
	Boundary        int      `json:"boundary"`
	Depth           *float64 `json:"depth"`
	TimeToTrough    *float64 `json:"time_to_trough"`
	Recovery        *float64 `json:"recovery"`
	R90             *float64 `json:"r90"`
	Area            *float64 `json:"area"`
	TroughIteration *int     `json:"trough_iteration"`
	Trough          *float64 `json:"trough"`
	Before          *float64 `json:"before"`
}

// MatrixJSON is the accuracy matrix of one variant: Acc[i][j-1] = R(i, j),
// row 0 the initial model; null where missing.
type MatrixJSON struct {
	Variant string       `json:"variant"`
	Acc     [][]*float64 `json:"acc"`
}

// MetricJSON is one stored metric value.
type MetricJSON struct {
	Variant string   `json:"variant"`
	Name    string   `json:"name"`
	K       int      `json:"k"`
	J       int      `json:"j"`
	Value   *float64 `json:"value"`
}

// RunDetailJSON is the answer of /api/run.
type RunDetailJSON struct {
	Run         RunJSON          `json:"run"`
	Key         string           `json:"key"`
	Config      json.RawMessage  `json:"config"`
	Host        string           `json:"host"`
	CodeVersion string           `json:"code_version"`
	Experiences []ExperienceJSON `json:"experiences"`
	Matrices    []MatrixJSON     `json:"matrices"`
	Gaps        []GapJSON        `json:"gaps"`
	// MinACC holds the final min-ACC_k of each experience k < T
	// (per-experience stored metric).
	MinACC  []MetricJSON `json:"min_acc"`
	Metrics []MetricJSON `json:"metrics"`
	// Live is set for a running run: its Gaps are those of the
	// transitions that ended (final already: a transition's values use
	// only its own iterations), and its MinACC the minimum so far, both
	// computed from the records by package metrics as they will be at the
	// end; it has no run-level Metrics yet.
	Live bool `json:"live"`
}

func (s *Server) apiRun(w http.ResponseWriter, r *http.Request) {
	p, err := newParams(r, "id")
	if err == nil {
		var id int64
		if id, err = p.runID("id"); err == nil {
			var out *RunDetailJSON
			if out, err = s.runDetail(r.Context(), id); err == nil {
				writeJSON(w, out)
				return
			}
		}
	}
	s.fail(w, r, err)
}

func ptr[T any](v T) *T { return &v }

func (s *Server) runDetail(ctx context.Context, id int64) (*RunDetailJSON, error) {
	rd, err := s.db.Run(ctx, id)
	if err != nil {
		return nil, err
	}
	infos, ends, err := s.db.Experiences(ctx, id)
	if err != nil {
		return nil, err
	}
	matrix, err := s.db.Matrix(ctx, id, "")
	if err != nil {
		return nil, err
	}
	stored, err := s.db.Metrics(ctx, id)
	if err != nil {
		return nil, err
	}
	live := rd.Status == metrics.RunRunning && len(stored) == 0
	if live {
		if stored, err = s.liveMetrics(ctx, rd, ends); err != nil {
			return nil, err
		}
	}
	st, err := s.loadRuns(ctx)
	if err != nil {
		return nil, err
	}
	var run *store.Run
	for i := range st.runs {
		if st.runs[i].ID == id {
			run = &st.runs[i]
		}
	}
	if run == nil {
		run = &rd // stored after the list was read
	}
	byKey := map[string]int{}
	for _, g := range st.set.Groups {
		byKey[g.Key] = g.ID
	}
	out := &RunDetailJSON{
		Run: s.runJSON(*run, st.exps[id], st.metrics[id], byKey, s.opt.now()), Key: run.Key, Config: run.Config,
		Host: run.Host, CodeVersion: run.CodeVersion, Experiences: []ExperienceJSON{}, Matrices: []MatrixJSON{},
		Gaps: []GapJSON{}, MinACC: []MetricJSON{}, Metrics: []MetricJSON{}, Live: live,
	}
	T := run.NumExperiences
	starts := make([]int, T+2) // starts[j] = e_{j-1}
	for i, e := range infos {
		ej := ExperienceJSON{Exp: e.ID, Classes: e.Classes, Task: e.Task, TrainSize: e.TrainSize, TestSize: e.TestSize, EvalSize: e.EvalSize}
		if ej.Classes == nil {
			ej.Classes = []int32{}
		}
		if i == 0 {
			ej.Start = ptr(0)
		} else if prev := ends[i-1]; prev >= 0 {
			ej.Start = ptr(prev)
		}
		if ends[i] >= 0 {
			ej.End = ptr(ends[i])
			if e.ID+1 < len(starts) && e.ID >= 0 {
				starts[e.ID+1] = ends[i]
			}
		}
		out.Experiences = append(out.Experiences, ej)
	}
	for _, v := range run.Variants {
		m := MatrixJSON{Variant: v, Acc: make([][]*float64, T+1)}
		for i := range m.Acc {
			m.Acc[i] = make([]*float64, T)
		}
		for _, rec := range matrix {
			if rec.Variant == v && rec.Row >= 0 && rec.Row <= T && rec.Col >= 1 && rec.Col <= T && rec.Total > 0 {
				m.Acc[rec.Row][rec.Col-1] = ptr(rec.Accuracy())
			}
		}
		out.Matrices = append(out.Matrices, m)
	}
	gaps := map[[3]string]*GapJSON{}
	var order [][3]string
	for _, m := range stored {
		var val *float64
		if !m.Null {
			val = ptr(m.Value)
		}
		mj := MetricJSON{Variant: m.Variant, Name: m.Name, K: m.K, J: m.J, Value: val}
		switch {
		case m.K == 0 && m.J == 0:
			if !live {
				out.Metrics = append(out.Metrics, mj)
			}
		case m.Name == metrics.NameMinACC && m.J == 0:
			out.MinACC = append(out.MinACC, mj)
		case m.J > 0 && strings.HasPrefix(m.Name, "gap_"):
			key := [3]string{m.Variant, fmt.Sprint(m.K), fmt.Sprint(m.J)}
			g := gaps[key]
			if g == nil {
				b := 0
				if m.J < len(starts) {
					b = starts[m.J]
				}
				g = &GapJSON{Variant: m.Variant, K: m.K, J: m.J, Boundary: b}
				gaps[key] = g
				order = append(order, key)
			}
			switch m.Name {
			case metrics.NameGapDepth:
				g.Depth = val
			case metrics.NameGapTimeToTrough:
				g.TimeToTrough = val
			case metrics.NameGapRecovery:
				g.Recovery = val
			case metrics.NameGapR90:
				g.R90 = val
			case metrics.NameGapArea:
				g.Area = val
			}
		}
	}
	// Place each trough on its curve (two records per transition).
	accAt := func(variant string, t, k int) (*float64, error) {
		var correct, total int
		err := s.db.SQL().QueryRowContext(ctx, `SELECT correct, total FROM evaluations WHERE run_id = ? AND variant = ? AND iteration = ? AND eval_exp = ?`,
			id, variant, t, k).Scan(&correct, &total)
		if err == sql.ErrNoRows || err == nil && total == 0 {
			return nil, nil
		}
		if err != nil {
			return nil, fmt.Errorf("dashboard: run %d: %w", id, err)
		}
		return ptr(float64(correct) / float64(total)), nil
	}
	for _, key := range order {
		g := gaps[key]
		if g.TimeToTrough == nil {
			continue
		}
		t := g.Boundary + int(math.Round(*g.TimeToTrough))
		g.TroughIteration = ptr(t)
		if g.Trough, err = accAt(g.Variant, t, g.K); err != nil {
			return nil, err
		}
		if g.Before, err = accAt(g.Variant, g.Boundary, g.K); err != nil {
			return nil, err
		}
	}
	for _, key := range order {
		out.Gaps = append(out.Gaps, *gaps[key])
	}
	slices.SortStableFunc(out.Gaps, func(a, b GapJSON) int {
		if a.J != b.J {
			return a.J - b.J
		}
		return a.K - b.K
	})
	return out, nil
}

// SeriesJSON is the answer of /api/series: the curves of the chosen
// variants, aligned on X (iterations); Y[i][p] is null where curve i has
// no point at X[p].
type SeriesJSON struct {
	From, To int `json:"-"`
	// Range is the iterations shown, [from, to].
	Range [2]int `json:"range"`
	Width int    `json:"width"`
	// Last is the last evaluation point of each variant (-1: none yet).
	Last map[string]int `json:"last"`
	// Downsampled is set when some curve kept only the first, minimum,
	// maximum and last point of some pixel column.
	Downsampled bool         `json:"downsampled"`
	Points      int          `json:"points"`
	Status      string       `json:"status"`
	X           []int        `json:"x"`
	Curves      []CurveJSON  `json:"curves"`
	Y           [][]*float64 `json:"y"`
}

// CurveJSON names one curve: the accuracy or the mean loss of one
// experience of one variant.
type CurveJSON struct {
	Variant string `json:"variant"`
	Kind    string `json:"kind"` // "acc" or "loss"
	Exp     int    `json:"exp"`
}

// parallelAbove is the number of points of a variant's curves above which
// they are downsampled in parallel (Server.parallelAbove; tests lower it).
const parallelAbove = 50000

// Series limits.
const (
	MaxWidth = 8192
	// MaxAfterPoints is the most raw points an incremental answer
	// (after=) holds; with more, the answer says reset and the page asks
	// for the downsampled curves again.
	MaxAfterPoints = 20000
)

func (s *Server) apiSeries(w http.ResponseWriter, r *http.Request) {
	out, err := s.seriesJSON(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, out)
}

func (s *Server) seriesJSON(r *http.Request) (any, error) {
	p, err := newParams(r, "id", "variants", "from", "to", "width", "after")
	if err != nil {
		return nil, err
	}
	id, err := p.runID("id")
	if err != nil {
		return nil, err
	}
	width, err := p.int("width", 1000, 1, MaxWidth)
	if err != nil {
		return nil, err
	}
	after, err := p.int("after", -1, -1, math.MaxInt32)
	if err != nil {
		return nil, err
	}
	from, err := p.int("from", 0, 0, math.MaxInt32)
	if err != nil {
		return nil, err
	}
	to, err := p.int("to", -1, 0, math.MaxInt32)
	if err != nil {
		return nil, err
	}
	if p.has("after") && (p.has("from") || p.has("to")) {
		return nil, badParam("after= asks for the points after an iteration: it takes no from= or to=")
	}
	if p.has("to") && to < from {
		return nil, badParam("to=%d is before from=%d", to, from)
	}
	ctx := r.Context()
	run, err := s.db.Run(ctx, id)
	if err != nil {
		return nil, err
	}
	variants := p.list("variants")
	if len(variants) == 0 {
		variants = []string{metrics.VariantLive}
	}
	for _, v := range variants {
		if !slices.Contains(run.Variants, v) {
			return nil, badParam("run %d has no variant %q (it has %s)", id, v, strings.Join(run.Variants, ", "))
		}
	}
	// In the run's order, each once: requests lock the curves of several
	// variants in one order.
	variants = slices.DeleteFunc(slices.Clone(run.Variants), func(v string) bool { return !slices.Contains(variants, v) })
	T := run.NumExperiences
	out := &SeriesJSON{Width: width, Last: map[string]int{}, X: []int{}, Curves: []CurveJSON{}, Y: [][]*float64{}, Status: string(run.Status)}
	type curve struct {
		xs  []int
		ys  []float64
		idx []int
	}
	var curves []curve
	last := -1
	var locked []*runSeries
	defer func() {
		for _, rs := range locked {
			rs.mu.Unlock()
		}
	}()
	for _, v := range variants {
		rs, err := s.series(ctx, id, T, v)
		if err != nil {
			return nil, err
		}
		locked = append(locked, rs)
		out.Last[v] = rs.last
		last = max(last, rs.last)
		for k := 1; k <= T; k++ {
			out.Curves = append(out.Curves, CurveJSON{Variant: v, Kind: "acc", Exp: k})
			curves = append(curves, curve{xs: rs.its, ys: rs.acc[k-1]})
		}
		for k := 1; k <= T; k++ {
			out.Curves = append(out.Curves, CurveJSON{Variant: v, Kind: "loss", Exp: k})
			curves = append(curves, curve{xs: rs.its, ys: rs.loss[k-1]})
		}
	}
	if after >= 0 {
		// The raw points after the page's last one.
		n := 0
		for i := range curves {
			c := &curves[i]
			for j := searchInts(c.xs, after+1); j < len(c.xs); j++ {
				if !math.IsNaN(c.ys[j]) {
					c.idx = append(c.idx, j)
				}
			}
			n += len(c.idx)
		}
		if n > MaxAfterPoints {
			return map[string]any{"reset": true, "last": out.Last}, nil
		}
		from, to = after+1, max(last, after+1)
	} else {
		if !p.has("to") {
			to = max(last, from)
		}
		// The curves of a long run on all processors.
		dropped := make([]bool, len(curves))
		work := func(i int) { curves[i].idx, dropped[i] = downsample(nil, curves[i].xs, curves[i].ys, from, to, width) }
		if len(curves) > 1 && len(curves[0].xs) >= s.parallelAbove {
			var next atomic.Int64
			var wg sync.WaitGroup
			for range min(max(2, runtime.GOMAXPROCS(0)), len(curves)) {
				wg.Go(func() {
					for i := int(next.Add(1)) - 1; i < len(curves); i = int(next.Add(1)) - 1 {
						work(i)
					}
				})
			}
			wg.Wait()
		} else {
			for i := range curves {
				work(i)
			}
		}
		out.Downsampled = slices.Contains(dropped, true)
	}
	out.Range = [2]int{from, to}
	// Align the curves on the union of their iterations.
	var xs []int
	for _, c := range curves {
		for _, i := range c.idx {
			xs = append(xs, c.xs[i])
		}
	}
	slices.Sort(xs)
	xs = slices.Compact(xs)
	out.X = xs
	if xs == nil {
		out.X = []int{}
	}
	for _, c := range curves {
		y := make([]*float64, len(xs))
		for _, i := range c.idx {
			p := searchInts(xs, c.xs[i])
			v := c.ys[i]
			y[p] = &v
			out.Points++
		}
		out.Y = append(out.Y, y)
	}
	return out, nil
}

// liveMetrics computes the per-experience and per-transition metrics of a
// running run from its records, as package metrics computes them at the
// end (with the run treated as stopped at its last evaluation point), for
// the transitions that ended. They are computed again only when another
// experience ends (the min-ACC_k so far is then as of that moment).
func (s *Server) liveMetrics(ctx context.Context, run store.Run, ends []int) ([]store.Metric, error) {
	ended := 0
	for _, e := range ends {
		if e >= 0 {
			ended++
		}
	}
	var out []store.Metric
	if ended == 0 {
		return out, nil
	}
	for _, v := range run.Variants {
		key := fmt.Sprintf("g/%d/%s/%d", run.ID, v, ended)
		lv := s.cache.get(key, func() any { return &liveValues{} }).(*liveValues)
		lv.once.Do(func() {
			in, err := s.db.Input(ctx, run, v)
			if err != nil {
				lv.err = err
				return
			}
			in.Status = metrics.StatusDiverged // what exists, final values at the last point
			lv.vals, lv.err = metrics.Compute(in)
		})
		if lv.err != nil {
			s.cache.drop(key)
			if errors.Is(lv.err, metrics.ErrInvalidInput) {
				continue // records being written: try again later
			}
			return nil, lv.err
		}
		s.cache.resize(key, int64(len(lv.vals))*64)
		for _, m := range lv.vals {
			if m.K == 0 && m.J == 0 || m.J > ended {
				continue
			}
			out = append(out, store.Metric{Variant: v, Name: m.Name, K: m.K, J: m.J, Value: m.Value, Null: m.Null})
		}
	}
	return out, nil
}

// liveValues caches the metrics of a running run.
type liveValues struct {
	once sync.Once
	vals []metrics.Value
	err  error
}
