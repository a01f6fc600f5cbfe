package dashboard

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"slices"
	"sort"

	"github.com/cleval/cleval/metrics"
	"github.com/cleval/cleval/metrics/report"
	"github.com/cleval/cleval/metrics/store"
)

// CompareSeries are the curves the Compare view draws.
var CompareSeries = []string{"wc_acc", "avg_acc", "acc"}

// BandJSON is one group's curve in /api/compare: the mean over its seeds
// at each iteration with mean ± sd (Lo, Hi, clipped to [0, 1]) and the
// number of seeds N with a value. Downsampled like /api/series: the mean
// keeps each column's first, minimum, maximum and last point, and the band
// at a kept point spans the lowest Lo and highest Hi of its column.
type BandJSON struct {
	Group int        `json:"group"`
	Key   string     `json:"config_group"`
	Label string     `json:"label"`
	Seeds []uint64   `json:"seeds"`
	X     []int      `json:"x"`
	Mean  []*float64 `json:"mean"`
	Lo    []*float64 `json:"lo"`
	Hi    []*float64 `json:"hi"`
	N     []int      `json:"n"`
}

// CompareJSON is the answer of /api/compare.
type CompareJSON struct {
	Series  string     `json:"series"`
	Exp     int        `json:"exp,omitempty"`
	Variant string     `json:"variant"`
	Bands   []BandJSON `json:"bands"`
	// Report is `cleval report --format json` of the chosen groups, with
	// the paired comparison of a and b when both are given.
	Report json.RawMessage `json:"report"`
}

func (s *Server) apiCompare(w http.ResponseWriter, r *http.Request) {
	out, err := s.compareJSON(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, out)
}

func (s *Server) compareJSON(r *http.Request) (*CompareJSON, error) {
	p, err := newParams(r, "groups", "series", "exp", "variant", "width", "a", "b")
	if err != nil {
		return nil, err
	}
	ctx := r.Context()
	st, err := s.loadRuns(ctx)
	if err != nil {
		return nil, err
	}
	refs := p.list("groups")
	if len(refs) == 0 {
		return nil, badParam("missing parameter groups (group numbers or configuration hashes from /api/runs, comma-separated)")
	}
	var groups []*report.Group
	for _, ref := range refs {
		g, err := st.set.Find(ref)
		if err != nil {
			return nil, badParam("groups: %v", err)
		}
		if !slices.Contains(groups, g) {
			groups = append(groups, g)
		}
	}
	series := p.q.Get("series")
	if series == "" {
		series = "wc_acc"
	}
	if !slices.Contains(CompareSeries, series) {
		return nil, badParam("series=%q: must be one of wc_acc, avg_acc, acc", series)
	}
	exp, err := p.int("exp", 0, 1, math.MaxInt32)
	if err != nil {
		return nil, err
	}
	if series == "acc" && exp == 0 {
		return nil, badParam("series=acc needs exp=K, the experience whose accuracy to draw")
	}
	if series != "acc" && p.has("exp") {
		return nil, badParam("exp= goes with series=acc only")
	}
	variant := p.q.Get("variant")
	if variant == "" {
		variant = metrics.VariantLive
	}
	width, err := p.int("width", 1000, 1, MaxWidth)
	if err != nil {
		return nil, err
	}
	out := &CompareJSON{Series: series, Exp: exp, Variant: variant, Bands: []BandJSON{}}
	for _, g := range groups {
		if !slices.Contains(g.Variants, variant) {
			return nil, badParam("group %s has no variant %q", g.Name(), variant)
		}
		b, err := s.band(ctx, g, series, exp, variant, width)
		if err != nil {
			return nil, err
		}
		out.Bands = append(out.Bands, b)
	}

	// The report of these groups (their runs only), as cleval report.
	var ids []int64
	for _, g := range groups {
		ids = append(ids, g.RunIDs()...)
	}
	set, err := report.Load(ctx, s.db, store.RunFilter{IDs: ids})
	if err != nil {
		return nil, err
	}
	var opt report.Options
	a, b := p.q.Get("a"), p.q.Get("b")
	if (a == "") != (b == "") {
		return nil, badParam("a paired comparison needs both a= and b=")
	}
	if a != "" {
		ga, err := st.set.Find(a)
		if err != nil {
			return nil, badParam("a: %v", err)
		}
		gb, err := st.set.Find(b)
		if err != nil {
			return nil, badParam("b: %v", err)
		}
		if !slices.Contains(groups, ga) || !slices.Contains(groups, gb) {
			return nil, badParam("a= and b= must be among the groups shown")
		}
		if ga == gb {
			return nil, badParam("a= and b= name the same group %s", ga.Name())
		}
		opt.Compare = [][2]string{{ga.Key, gb.Key}}
	}
	rep, err := report.Build(set, opt)
	if err != nil {
		return nil, badParam("%v", err)
	}
	var buf bytes.Buffer
	if err := rep.WriteJSON(&buf); err != nil {
		return nil, err
	}
	out.Report = buf.Bytes()
	return out, nil
}

// runPoints returns a per-iteration series of one finished run, cached.
func (s *Server) runPoints(ctx context.Context, run store.Run, series string, exp int, variant string) ([]metrics.Point, error) {
	key := fmt.Sprintf("p/%d/%s/%s/%d", run.ID, variant, series, exp)
	ps := s.cache.get(key, func() any { return &pointSeries{} }).(*pointSeries)
	ps.once.Do(func() {
		in, err := s.db.Input(ctx, run, variant)
		if err != nil {
			ps.err = err
			return
		}
		switch series {
		case "wc_acc":
			ps.pts, ps.err = metrics.WCACCSeries(in)
		case "avg_acc":
			ps.pts, ps.err = metrics.AvgAccSeries(in)
		case "acc":
			if exp > run.NumExperiences {
				ps.err = badParam("exp=%d: run %d has %d experiences", exp, run.ID, run.NumExperiences)
				return
			}
			ps.pts, ps.err = metrics.AccSeries(in, exp)
		}
	})
	if ps.err != nil {
		// Do not keep a failure (a cancelled request, say).
		s.cache.drop(key)
		return nil, ps.err
	}
	s.cache.resize(key, int64(len(ps.pts))*24)
	return ps.pts, nil
}

// band aggregates a group's runs at equal iterations (mean and sample sd
// over the seeds with a value, metrics.Summarize) and downsamples.
func (s *Server) band(ctx context.Context, g *report.Group, series string, exp int, variant string, width int) (BandJSON, error) {
	out := BandJSON{Group: g.ID, Key: g.Key, Label: g.Label, Seeds: g.Seeds(), X: []int{}, Mean: []*float64{}, Lo: []*float64{}, Hi: []*float64{}, N: []int{}}
	vals := map[int][]float64{}
	for _, r := range g.Runs {
		pts, err := s.runPoints(ctx, r.Run, series, exp, variant)
		if err != nil {
			return out, err
		}
		for _, p := range pts {
			if p.Null {
				if _, ok := vals[p.T]; !ok {
					vals[p.T] = nil
				}
				continue
			}
			vals[p.T] = append(vals[p.T], p.Value)
		}
	}
	xs := make([]int, 0, len(vals))
	for x := range vals {
		xs = append(xs, x)
	}
	sort.Ints(xs)
	mean := make([]float64, len(xs))
	lo := make([]float64, len(xs))
	hi := make([]float64, len(xs))
	n := make([]int, len(xs))
	for i, x := range xs {
		sm := metrics.Summarize(vals[x])
		sd := sm.SD
		if math.IsNaN(sd) {
			sd = 0
		}
		mean[i], n[i] = sm.Mean, sm.N
		if sm.N == 0 {
			mean[i] = math.NaN()
		}
		lo[i], hi[i] = math.Max(0, sm.Mean-sd), math.Min(1, sm.Mean+sd)
	}
	if len(xs) == 0 {
		return out, nil
	}
	from, to := xs[0], xs[len(xs)-1]
	idx := Downsample(nil, xs, mean, from, to, width)
	// The band at a kept point covers its whole column.
	span := int64(to) - int64(from) + 1
	col := func(x int) int64 { return (int64(x) - int64(from)) * int64(width) / span }
	colLo, colHi := map[int64]float64{}, map[int64]float64{}
	downsampled := len(idx) < len(xs)
	if downsampled {
		for i, x := range xs {
			if math.IsNaN(mean[i]) {
				continue
			}
			c := col(x)
			if v, ok := colLo[c]; !ok || lo[i] < v {
				colLo[c] = lo[i]
			}
			if v, ok := colHi[c]; !ok || hi[i] > v {
				colHi[c] = hi[i]
			}
		}
	}
	for _, i := range idx {
		l, h := lo[i], hi[i]
		if downsampled {
			l, h = colLo[col(xs[i])], colHi[col(xs[i])]
		}
		out.X = append(out.X, xs[i])
		out.Mean = append(out.Mean, ptr(mean[i]))
		out.Lo = append(out.Lo, ptr(l))
		out.Hi = append(out.Hi, ptr(h))
		out.N = append(out.N, n[i])
	}
	return out, nil
}
