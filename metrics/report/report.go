package report

import (
	"fmt"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/cleval/cleval/metrics"
	"github.com/cleval/cleval/metrics/store"
)

// MetricKey names one metric value of a run.
type MetricKey struct {
	Variant string
	Name    string
	// K and J are the experience indices of per-experience and
	// per-transition values, 0 otherwise.
	K, J int
}

// String returns "name", "name[k]" or "name[k,j]", prefixed by
// "variant:" for variants other than live.
func (m MetricKey) String() string {
	s := m.Name
	switch {
	case m.J > 0:
		s += fmt.Sprintf("[%d,%d]", m.K, m.J)
	case m.K > 0:
		s += fmt.Sprintf("[%d]", m.K)
	}
	if m.Variant != metrics.VariantLive {
		s = m.Variant + ":" + s
	}
	return s
}

// IsTime reports whether the metric is a duration in iterations (the
// others are accuracies or accuracy differences, fractions).
func IsTime(name string) bool {
	switch name {
	case metrics.NameGapTimeToTrough, metrics.NameGapR90, metrics.NameGapTimeToTroughMean, metrics.NameGapR90Mean:
		return true
	}
	return false
}

// Unit returns "iterations" or "fraction".
func Unit(name string) string {
	if IsTime(name) {
		return "iterations"
	}
	return "fraction"
}

// Stat is one metric of one group across its seeds.
type Stat struct {
	Group *Group
	MetricKey
	metrics.Summary
}

// Comparison is a paired comparison of two groups over their shared seeds.
type Comparison struct {
	A, B *Group
	// Seeds are the shared seeds; OnlyA and OnlyB the others.
	Seeds, OnlyA, OnlyB []uint64
	Rows                []CompareRow
}

// CompareRow is the paired t-test of one metric: differences A - B.
type CompareRow struct {
	MetricKey
	metrics.PairedTest
}

// Criterion is a success criterion on one metric, e.g. min_acc >= 0.5.
type Criterion struct {
	Text string
	MetricKey
	Op        string
	Threshold float64
}

// Holds reports whether v meets the criterion.
func (c Criterion) Holds(v float64) bool {
	switch c.Op {
	case ">=":
		return v >= c.Threshold
	case ">":
		return v > c.Threshold
	case "<=":
		return v <= c.Threshold
	case "<":
		return v < c.Threshold
	case "==":
		return v == c.Threshold
	case "!=":
		return v != c.Threshold
	}
	return false
}

var criterionRE = regexp.MustCompile(`^\s*(?:([A-Za-z0-9_.\-]+):)?([a-z0-9_]+)(?:\[(\d+)(?:,(\d+))?\])?\s*(>=|<=|==|!=|>|<)\s*([-+0-9.eE]+)\s*(%?)\s*$`)

// ParseCriterion parses "[variant:]metric[k] OP value[%]" with OP one of
// >= > <= < == !=, e.g. "min_acc>=0.5", "acc >= 80%", "ema0.99:wc_acc>0.6",
// "gap_depth[1,2]<0.1". Accuracies are fractions; a trailing % divides the
// value by 100. The metric must be one metrics.Compute produces.
func ParseCriterion(s string) (Criterion, error) { return parseCriterion(s, metrics.Names()) }

// parseCriterion is ParseCriterion with the metric names known.
func parseCriterion(s string, names []string) (Criterion, error) {
	m := criterionRE.FindStringSubmatch(s)
	if m == nil {
		return Criterion{}, fmt.Errorf("report: criterion %q: want METRIC OP VALUE, e.g. 'min_acc>=0.5' or 'acc >= 80%%' (OP: >= > <= < == !=)", s)
	}
	c := Criterion{Text: strings.TrimSpace(s), MetricKey: MetricKey{Variant: metrics.VariantLive, Name: m[2]}, Op: m[5]}
	if m[1] != "" {
		c.Variant = m[1]
	}
	if !slices.Contains(names, c.Name) {
		return Criterion{}, fmt.Errorf("report: criterion %q: unknown metric %q (known: %s)", s, c.Name, strings.Join(names, ", "))
	}
	c.K, _ = strconv.Atoi(m[3])
	c.J, _ = strconv.Atoi(m[4])
	v, err := strconv.ParseFloat(m[6], 64)
	if err != nil {
		return Criterion{}, fmt.Errorf("report: criterion %q: bad value %q", s, m[6])
	}
	if m[7] == "%" {
		v /= 100
	}
	c.Threshold = v
	return c, nil
}

// SuccessRow is the fraction of a group's seeds that meet a criterion.
type SuccessRow struct {
	Group     *Group
	Criterion Criterion
	metrics.Proportion
	// Nulls counts seeds whose value is NULL (undefined); they are not in
	// N.
	Nulls int
}

// Options selects what Build computes.
type Options struct {
	// Detail adds the per-experience (min_acc[k]) and per-transition
	// (gap_*[k,j]) values to the run-level metrics.
	Detail bool
	// Metrics restricts the report to these metric names (all when
	// empty).
	Metrics []string
	// Compare lists pairs of group references (see Set.Find).
	Compare [][2]string
	// Success lists criteria (see ParseCriterion).
	Success []string
	// CI selects the confidence intervals; the zero value is Student t.
	CI CI
}

// CI selects how a report's 95 % confidence intervals are computed.
type CI struct {
	// Bootstrap replaces the Student-t intervals (of every metric and of
	// the paired differences of comparisons) by bootstrap intervals over
	// seeds (metrics.Bootstrap): a comparison resamples the seeds both
	// groups have, keeping pairs together. The t statistic and p-value of
	// comparisons stay those of the paired t-test.
	Bootstrap bool
	// Options are the bootstrap's method, resamples and seed.
	Options metrics.BootstrapOptions
}

// String describes the intervals for the output.
func (c CI) String() string {
	if !c.Bootstrap {
		return "t"
	}
	if c.Options.Method == metrics.Percentile {
		return "percentile"
	}
	return "bca"
}

// Describe returns one line saying how the intervals were computed.
func (c CI) Describe() string {
	if !c.Bootstrap {
		return "95% CI = mean ± t(0.975, n-1)·sd/√n (none for n < 2)"
	}
	b := c.Options.Resamples
	if b <= 0 {
		b = metrics.DefaultResamples
	}
	exact := 1
	for n := 2; n <= 12 && bootstrapExact(n, b); n++ {
		exact = n
	}
	how := fmt.Sprintf("%d resamples seeded %d", b, c.Options.Seed)
	if exact >= 2 {
		how = fmt.Sprintf("exact (every resample) for n <= %d, else %s", exact, how)
	}
	return fmt.Sprintf("95%% CI = %s bootstrap over seeds, %s; comparisons resample pairs (t and p: paired t-test); none for n < 2", c.Options.Method, how)
}

// bootstrapExact reports whether metrics.Bootstrap enumerates every
// resample of n values with b resamples.
func bootstrapExact(n, b int) bool {
	c := 1
	for k := 1; k <= n; k++ {
		c = c * (n - 1 + k) / k
	}
	return c <= b
}

// Report is everything the output formats print.
type Report struct {
	*Set
	// CI says how the intervals were computed.
	CI          CI
	Stats       []Stat
	Comparisons []Comparison
	Success     []SuccessRow
	// MultiVariant is set when some group has a variant other than live.
	MultiVariant bool
}

// Build aggregates the set.
func Build(set *Set, opt Options) (*Report, error) {
	names := set.names()
	for _, n := range opt.Metrics {
		if !slices.Contains(names, n) {
			return nil, fmt.Errorf("report: unknown metric %q (known: %s)", n, strings.Join(names, ", "))
		}
	}
	crits := make([]Criterion, len(opt.Success))
	for i, s := range opt.Success {
		c, err := parseCriterion(s, names)
		if err != nil {
			return nil, err
		}
		crits[i] = c
	}
	type pair struct{ a, b *Group }
	var pairs []pair
	for _, p := range opt.Compare {
		a, err := set.Find(p[0])
		if err != nil {
			return nil, err
		}
		b, err := set.Find(p[1])
		if err != nil {
			return nil, err
		}
		if a == b {
			return nil, fmt.Errorf("report: --compare %s %s: both name group %s", p[0], p[1], a.Name())
		}
		pairs = append(pairs, pair{a, b})
	}

	if opt.CI.Bootstrap && opt.CI.Options.Resamples < 0 {
		return nil, fmt.Errorf("report: %d bootstrap resamples: must be >= 1", opt.CI.Options.Resamples)
	}
	r := &Report{Set: set, CI: opt.CI}
	for _, g := range set.Groups {
		r.MultiVariant = r.MultiVariant || len(g.Variants) > 1 || len(g.Variants) == 1 && g.Variants[0] != metrics.VariantLive
		for _, key := range keysOf(g, opt, names) {
			vals := values(g.Runs, key)
			st := Stat{Group: g, MetricKey: key, Summary: metrics.Summarize(vals)}
			if opt.CI.Bootstrap {
				b := metrics.Bootstrap(vals, opt.CI.Options)
				st.Low, st.High = b.Low, b.High
			}
			r.Stats = append(r.Stats, st)
		}
	}
	for _, p := range pairs {
		c := Comparison{A: p.a, B: p.b}
		byB := map[uint64]Run{}
		for _, run := range p.b.Runs {
			byB[run.Seed] = run
		}
		var ra, rb []Run
		for _, run := range p.a.Runs {
			if o, ok := byB[run.Seed]; ok {
				c.Seeds = append(c.Seeds, run.Seed)
				ra, rb = append(ra, run), append(rb, o)
				delete(byB, run.Seed)
			} else {
				c.OnlyA = append(c.OnlyA, run.Seed)
			}
		}
		for _, run := range p.b.Runs {
			if _, ok := byB[run.Seed]; ok {
				c.OnlyB = append(c.OnlyB, run.Seed)
			}
		}
		if len(c.Seeds) == 0 {
			return nil, fmt.Errorf("report: --compare %s %s: the groups share no seed (%s has %s, %s has %s)",
				p.a.Name(), p.b.Name(), p.a.Name(), joinSeeds(p.a.Seeds()), p.b.Name(), joinSeeds(p.b.Seeds()))
		}
		for _, key := range keysOf(p.a, opt, names) {
			if !slices.Contains(p.b.Variants, key.Variant) {
				continue
			}
			va, vb := values(ra, key), values(rb, key)
			row := CompareRow{MetricKey: key, PairedTest: metrics.PairedT(va, vb)}
			if opt.CI.Bootstrap {
				d := make([]float64, len(va))
				for i := range va {
					d[i] = va[i] - vb[i] // NaN when either is NULL: the pair is dropped
				}
				b := metrics.Bootstrap(d, opt.CI.Options)
				row.Low, row.High = b.Low, b.High
			}
			c.Rows = append(c.Rows, row)
		}
		r.Comparisons = append(r.Comparisons, c)
	}
	for _, crit := range crits {
		for _, g := range set.Groups {
			vals := values(g.Runs, crit.MetricKey)
			k, n, nulls := 0, 0, 0
			for _, v := range vals {
				if math.IsNaN(v) {
					nulls++
					continue
				}
				n++
				if crit.Holds(v) {
					k++
				}
			}
			r.Success = append(r.Success, SuccessRow{Group: g, Criterion: crit, Proportion: metrics.Wilson(k, n), Nulls: nulls})
		}
	}
	return r, nil
}

// keysOf returns the metrics reported for a group: per variant, the
// run-level metrics in metrics.Names order, then with Detail the
// per-experience and per-transition values in stored order.
func keysOf(g *Group, opt Options, all []string) []MetricKey {
	var out []MetricKey
	names := all
	if len(opt.Metrics) > 0 {
		names = opt.Metrics // in the order asked for
	}
	for _, v := range g.Variants {
		for _, n := range names {
			// Run-level values exist for every name except the
			// per-transition ones.
			if !slices.Contains([]string{metrics.NameGapDepth, metrics.NameGapTimeToTrough, metrics.NameGapRecovery, metrics.NameGapR90, metrics.NameGapArea}, n) {
				out = append(out, MetricKey{Variant: v, Name: n})
			}
		}
		if !opt.Detail {
			continue
		}
		var detail []MetricKey
		seen := map[MetricKey]bool{}
		for _, run := range g.Runs {
			for _, m := range run.Metrics {
				key := MetricKey{Variant: m.Variant, Name: m.Name, K: m.K, J: m.J}
				if m.Variant != v || m.K == 0 && m.J == 0 || seen[key] {
					continue
				}
				if len(opt.Metrics) > 0 && !slices.Contains(opt.Metrics, m.Name) {
					continue
				}
				seen[key] = true
				detail = append(detail, key)
			}
		}
		order := map[string]int{}
		for i, n := range metrics.Names() {
			order[n] = i
		}
		slices.SortFunc(detail, func(a, b MetricKey) int {
			if a.Name != b.Name {
				return order[a.Name] - order[b.Name]
			}
			if a.J != b.J {
				return a.J - b.J
			}
			return a.K - b.K
		})
		out = append(out, detail...)
	}
	return out
}

// values returns the metric of each run, NaN where it is NULL or missing.
func values(runs []Run, key MetricKey) []float64 {
	out := make([]float64, len(runs))
	for i, r := range runs {
		out[i] = math.NaN()
		if m, ok := lookup(r.Metrics, key); ok && !m.Null {
			out[i] = m.Value
		}
	}
	return out
}

func lookup(ms []store.Metric, key MetricKey) (store.Metric, bool) {
	for _, m := range ms {
		if m.Variant == key.Variant && m.Name == key.Name && m.K == key.K && m.J == key.J {
			return m, true
		}
	}
	return store.Metric{}, false
}
