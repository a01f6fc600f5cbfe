package ingest

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/cleval/cleval/metrics"
	"github.com/cleval/cleval/metrics/store"
)

// metadata is a run's metadata after merging its runs-table row with
// Options.Meta.
type metadata struct {
	fields map[string]json.RawMessage
	// from says where each field came from, for messages.
	from map[string]loc
}

// structural are the runs-table columns that are not configuration keys
// (config, when given, is the configuration itself).
var structural = map[string]bool{"run": true, "seed": true, "strategy": true, "benchmark": true, "preset": true, "num_experiences": true,
	"eval_subset": true, "config": true, "code_version": true, "status": true, "host": true}

func (ing *ingester) metadata(rs *runState, raw []byte) (*metadata, error) {
	m := &metadata{fields: map[string]json.RawMessage{}, from: map[string]loc{}}
	if raw != nil {
		if err := json.Unmarshal(raw, &m.fields); err != nil {
			return nil, err
		}
		for k := range m.fields {
			m.from[k] = rs.meta
		}
	}
	keys := make([]string, 0, len(ing.plan.opt.Meta))
	for k := range ing.plan.opt.Meta {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		v := value{k: kText, s: ing.plan.opt.Meta[k]}.json()
		if old, ok := m.fields[k]; ok && !bytes.Equal(old, v) {
			return nil, ing.errAt(rs.meta, k, "run %s: %s here, but --meta %s=%s", rs.name, old, k, ing.plan.opt.Meta[k])
		}
		m.fields[k] = v
	}
	return m, nil
}

// str returns a text field ("" when absent).
func (m *metadata) str(ing *ingester, rs *runState, key string) (string, error) {
	raw, ok := m.fields[key]
	if !ok || string(raw) == "null" {
		return "", nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		return s, nil
	}
	var n json.Number
	if err := json.Unmarshal(raw, &n); err == nil {
		return n.String(), nil
	}
	return "", ing.errAt(m.where(rs, key), key, "run %s: %s is not a name", rs.name, raw)
}

func (m *metadata) where(rs *runState, key string) loc {
	if l, ok := m.from[key]; ok && l.file != 0 {
		return l
	}
	if rs.meta.file != 0 {
		return rs.meta
	}
	return rs.first
}

// integer returns an integer field; ok is false when absent.
func (m *metadata) integer(ing *ingester, rs *runState, key string, min int64) (int64, bool, error) {
	raw, ok := m.fields[key]
	if !ok || string(raw) == "null" {
		return 0, false, nil
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		raw = []byte(strings.TrimSpace(s))
	}
	n, err := strconv.ParseInt(string(raw), 10, 64)
	if err != nil {
		f, ferr := strconv.ParseFloat(string(raw), 64)
		if ferr != nil || f != float64(int64(f)) {
			return 0, false, ing.errAt(m.where(rs, key), key, "run %s: %s is not a whole number", rs.name, raw)
		}
		n = int64(f)
	}
	if n < min {
		return 0, false, ing.errAt(m.where(rs, key), key, "run %s: %d: must be >= %d", rs.name, n, min)
	}
	return n, true, nil
}

// config builds the run's configuration: the config object when the
// metadata has one, else strategy, benchmark and every key that is not
// structural; with seed and preset added (they do not count for the
// grouping: metrics.ConfigGroup drops them).
func (m *metadata) config(ing *ingester, rs *runState, strategy, benchmark, preset string, seed uint64) ([]byte, error) {
	if raw, ok := m.fields["config"]; ok && string(raw) != "null" {
		var s string
		if json.Unmarshal(raw, &s) == nil {
			raw = json.RawMessage(s)
		}
		var obj map[string]json.RawMessage
		if err := json.Unmarshal(raw, &obj); err != nil || obj == nil {
			return nil, ing.errAt(m.where(rs, "config"), "config", "run %s: not a JSON object", rs.name)
		}
		var buf bytes.Buffer
		if err := json.Compact(&buf, raw); err != nil {
			return nil, ing.errAt(m.where(rs, "config"), "config", "run %s: %v", rs.name, err)
		}
		return buf.Bytes(), nil
	}
	obj := map[string]json.RawMessage{}
	for k, v := range m.fields {
		if !structural[k] && string(v) != "null" {
			obj[k] = v
		}
	}
	obj["strategy"], _ = json.Marshal(strategy)
	if benchmark != "" {
		obj["benchmark"], _ = json.Marshal(benchmark)
	}
	if preset != "" {
		obj["preset"], _ = json.Marshal(preset)
	}
	obj["seed"] = json.RawMessage(strconv.FormatUint(seed, 10))
	return json.Marshal(obj) // keys sorted
}

// finish is pass two for one run: it checks the run as a whole, derives
// what the input leaves out, computes the metrics and stores the run.
func (ing *ingester) finish(rs *runState) (RunResult, error) {
	g := ing.g
	p, err := g.Pending(rs.id)
	if err != nil {
		return RunResult{}, err
	}
	at := rs.first
	if rs.meta.file != 0 {
		at = rs.meta
	}
	if p.Records == 0 {
		return RunResult{}, ing.errAt(at, "run", "run %s has no evaluation records", rs.name)
	}
	m, err := ing.metadata(rs, p.Meta)
	if err != nil {
		return RunResult{}, err
	}

	// Names, seed, status.
	if st, err := m.str(ing, rs, "status"); err != nil {
		return RunResult{}, err
	} else if st != "" && st != string(metrics.RunComplete) {
		return RunResult{}, ing.errAt(m.where(rs, "status"), "status", "run %s is %s: only complete runs are ingested", rs.name, st)
	}
	strategy, err := m.str(ing, rs, "strategy")
	if err != nil {
		return RunResult{}, err
	}
	if strategy == "" {
		strategy = "unknown"
	}
	benchmark, err := m.str(ing, rs, "benchmark")
	if err != nil {
		return RunResult{}, err
	}
	preset, err := m.str(ing, rs, "preset")
	if err != nil {
		return RunResult{}, err
	}
	codeVersion, err := m.str(ing, rs, "code_version")
	if err != nil {
		return RunResult{}, err
	}
	if codeVersion == "" {
		codeVersion = "ingested"
	}
	host, err := m.str(ing, rs, "host")
	if err != nil {
		return RunResult{}, err
	}
	seed, haveSeed, err := m.integer(ing, rs, "seed", 0)
	if err != nil {
		return RunResult{}, err
	}
	if !haveSeed {
		n, perr := strconv.ParseUint(rs.name, 10, 63)
		if !ing.plan.opt.SeedFromRun || perr != nil {
			hint := "give a seed column in the runs table, or --meta seed=N when the input holds one run, or --seed-from-run when run names are seeds"
			if ing.plan.opt.SeedFromRun {
				hint = "--seed-from-run needs run names that are integers; " + hint
			}
			return RunResult{}, ing.errAt(at, "seed", "run %s has no seed (seeds pair runs across configurations in reports): %s", rs.name, hint)
		}
		seed = int64(n)
	}

	// Experiences and their ends.
	expAt := func(exp int) loc {
		found := ing.locate(TableExperiences, 1, func(row any) bool { r := row.(*expRow); return r.run == rs.name && r.Exp == exp })
		if len(found) > 0 {
			return found[0]
		}
		return at
	}
	T := p.MaxTraining
	numExp, haveNum, err := m.integer(ing, rs, "num_experiences", 1)
	if err != nil {
		return RunResult{}, err
	}
	given := map[int]store.ExperienceRow{}
	for _, e := range p.Experiences {
		given[e.Exp] = e
		if !haveNum {
			T = max(T, e.Exp)
		}
	}
	if haveNum {
		if int(numExp) < p.MaxTraining {
			l := ing.locateEval(rs.name, func(r *evalRow) bool { return r.Training > int(numExp) })
			return RunResult{}, ing.errAt(l, "training_exp", "run %s: training_exp %d, but num_experiences is %d", rs.name, ing.showExp(p.MaxTraining), numExp)
		}
		T = int(numExp)
		for _, e := range p.Experiences {
			if e.Exp > T {
				return RunResult{}, ing.errAt(expAt(e.Exp), "exp", "run %s: experience %d, but num_experiences is %d", rs.name, ing.showExp(e.Exp), T)
			}
		}
	}
	if p.MaxEval > T {
		l := ing.locateEval(rs.name, func(r *evalRow) bool { return r.Evaluated > T })
		return RunResult{}, ing.errAt(l, "eval_exp", "run %s: eval_exp %d, but the run has %d experiences (its records train %s)", rs.name, ing.showExp(p.MaxEval), T, ing.expRange(T))
	}
	ends := make([]int, T)
	for k := 1; k <= T; k++ {
		if e, ok := given[k]; ok && e.End != nil {
			ends[k-1] = *e.End
			continue
		}
		last, ok := p.Ends[k]
		if !ok {
			return RunResult{}, ing.errAt(at, "training_exp", "run %s: no evaluation record has training_exp %d, so the end of experience %d is not known: give end_iteration in the experiences table (only complete runs are ingested)",
				rs.name, ing.showExp(k), ing.showExp(k))
		}
		ends[k-1] = last
	}
	for k := 1; k <= T; k++ {
		prev := 0
		if k > 1 {
			prev = ends[k-2]
		}
		if ends[k-1] <= prev {
			if e, ok := given[k]; !ok || e.End == nil {
				// A derived end: name the record that goes back.
				l := ing.locateEval(rs.name, func(r *evalRow) bool { return r.Training == k && r.Iteration <= prev })
				return RunResult{}, ing.errAt(l, "training_exp", "run %s: a record of experience %d at iteration %d, but experience %d ends at iteration %d: the records of an experience come after those of the one before",
					rs.name, ing.showExp(k), ends[k-1], ing.showExp(k-1), prev)
			}
			return RunResult{}, ing.errAt(expAt(k), "end_iteration", "run %s: experience %d ends at iteration %d, not after the end of experience %d (%d): experiences end in order, the first at an iteration >= 1",
				rs.name, ing.showExp(k), ends[k-1], ing.showExp(k-1), prev)
		}
	}

	// Accuracy-matrix entries.
	for _, e := range p.Matrix {
		if e.Row <= T && e.Col <= T {
			continue
		}
		l := ing.locate(TableMatrix, 1, func(row any) bool {
			r := row.(*matrixRow)
			return r.run == rs.name && r.Variant == e.Variant && r.Row == e.Row && r.Col == e.Col
		})
		where := at
		if len(l) > 0 {
			where = l[0]
		}
		if e.Row > T {
			return RunResult{}, ing.errAt(where, "row_exp", "run %s: row %d is the model after experience %d, which was never trained (the records train %s)",
				rs.name, ing.showExp(e.Row), ing.showExp(e.Row), ing.expRange(T))
		}
		return RunResult{}, ing.errAt(where, "col_exp", "run %s: col_exp %d, but the run has %d experiences (%s)", rs.name, ing.showExp(e.Col), T, ing.expRange(T))
	}

	// Evaluation subset.
	evalSubset, err := m.str(ing, rs, "eval_subset")
	if err != nil {
		return RunResult{}, err
	}
	subsets := slices.DeleteFunc(slices.Clone(p.Subsets), func(s string) bool { return s == "" })
	switch {
	case evalSubset != "":
		switch metrics.Subset(evalSubset) {
		case metrics.SubsetFixed, metrics.SubsetResampled, metrics.SubsetValidation:
		default:
			return RunResult{}, ing.errAt(m.where(rs, "eval_subset"), "eval_subset", "run %s: %q: must be fixed, resampled or validation", rs.name, evalSubset)
		}
	case len(subsets) == 1:
		evalSubset = subsets[0]
	case len(subsets) > 1:
		return RunResult{}, ing.errAt(at, "eval_subset", "run %s: its records have subsets %s: say which is the run's with eval_subset in the runs table", rs.name, strings.Join(subsets, ", "))
	default:
		evalSubset = string(metrics.SubsetFixed)
	}
	if slices.Contains(p.Subsets, "") {
		if err := g.SetDefaultSubset(rs.id, evalSubset); err != nil {
			return RunResult{}, err
		}
	}

	// Every variant's records, checked point by point, and its metrics.
	variants := sortedVariants(p.Variants)
	vals := map[string][]metrics.Value{}
	for _, v := range variants {
		recs, err := g.Evaluations(rs.id, v)
		if err != nil {
			return RunResult{}, err
		}
		if err := ing.checkPoints(rs, v, recs, ends); err != nil {
			return RunResult{}, err
		}
		var mat []metrics.MatrixRecord
		for _, e := range p.Matrix {
			if e.Variant == v {
				mat = append(mat, e)
			}
		}
		vs, err := metrics.Compute(metrics.Input{NumExperiences: T, Ends: ends, Evals: recs, Matrix: mat, Status: metrics.StatusComplete})
		if err != nil {
			return RunResult{}, ing.errAt(at, "", "run %s, variant %s: %v", rs.name, v, err)
		}
		vals[v] = vs
	}
	for _, e := range p.Matrix {
		if !slices.Contains(variants, e.Variant) {
			l := ing.locate(TableMatrix, 1, func(row any) bool { r := row.(*matrixRow); return r.run == rs.name && r.Variant == e.Variant })
			where := at
			if len(l) > 0 {
				where = l[0]
			}
			return RunResult{}, ing.errAt(where, "variant", "run %s: accuracy-matrix entries of variant %s, which has no evaluation records", rs.name, e.Variant)
		}
	}

	// Experiences: given fields, else derived from the records.
	infos := make([]metrics.ExperienceInfo, T)
	for k := 1; k <= T; k++ {
		e := given[k]
		info := metrics.ExperienceInfo{ID: k, Classes: e.Classes, Task: e.Task}
		if info.Classes == nil {
			info.Classes = []int32{}
		}
		pick := func(p *int, derived int) int {
			if p != nil {
				return *p
			}
			return derived
		}
		info.EvalSize = pick(e.EvalSize, p.EvalTotals[k][1])
		test := 0
		for _, me := range p.Matrix {
			if me.Col == k {
				test = max(test, me.Total)
			}
		}
		info.TestSize = pick(e.TestSize, test)
		info.TrainSize = pick(e.TrainSize, 0)
		infos[k-1] = info
	}

	cfg, err := m.config(ing, rs, strategy, benchmark, preset, uint64(seed))
	if err != nil {
		return RunResult{}, err
	}
	key := runKey(rs.name, cfg, uint64(seed), p.Sources)
	info := metrics.RunInfo{Key: key, Preset: preset, Benchmark: benchmark, Strategy: strategy, Seed: uint64(seed), Config: cfg,
		CodeVersion: codeVersion, NumExperiences: T, EvalSubset: metrics.Subset(evalSubset), Variants: variants, Experiences: infos}
	existing, err := g.Finish(rs.id, store.Finished{Info: info, Ends: ends, Iterations: p.MaxIteration, Host: host, Metrics: vals})
	if err != nil {
		return RunResult{}, err
	}
	rr := RunResult{Name: rs.name, ID: rs.id, Strategy: strategy, Seed: uint64(seed), Records: p.Records, NumExperiences: T, Variants: variants}
	if existing != 0 {
		rr.ID, rr.Existing = existing, true
	}
	return rr, nil
}

// expRange describes experiences 1..T in the input's numbering.
func (ing *ingester) expRange(T int) string {
	return fmt.Sprintf("%d..%d", ing.showExp(1), ing.showExp(T))
}

// locateEval returns the first evaluation row of run name that pred
// accepts (the run's first row when none is found).
func (ing *ingester) locateEval(name string, pred func(r *evalRow) bool) loc {
	found := ing.locate(TableEvaluations, 1, func(row any) bool { r := row.(*evalRow); return r.run == name && pred(r) })
	if len(found) > 0 {
		return found[0]
	}
	return ing.runs[name].first
}

// checkPoints checks one variant's records (ordered by iteration and
// evaluated experience) against the ends: at every evaluation point t all
// records name the same training experience c, t lies in (e_{c-1}, e_c]
// (t = 0 for c = 1 too), and the point evaluates every experience
// 1..c it has trained so far.
func (ing *ingester) checkPoints(rs *runState, variant string, recs []metrics.EvalRecord, ends []int) error {
	for i := 0; i < len(recs); {
		j := i
		t, c := recs[i].Iteration, recs[i].Training
		for j < len(recs) && recs[j].Iteration == t {
			j++
		}
		point := recs[i:j]
		at := func(pred func(r *evalRow) bool) loc {
			return ing.locateEval(rs.name, func(r *evalRow) bool { return r.Variant == variant && r.Iteration == t && pred(r) })
		}
		any := func(*evalRow) bool { return true }
		for _, r := range point {
			if r.Training != c {
				return ing.errAt(at(func(e *evalRow) bool { return e.Training != c }), "training_exp",
					"run %s, variant %s, iteration %d: training_exp %d, but another record of this evaluation point has %d", rs.name, variant, t, ing.showExp(r.Training), ing.showExp(c))
			}
		}
		if c >= 2 && t <= ends[c-2] {
			return ing.errAt(at(any), "iteration", "run %s, variant %s: iteration %d with training_exp %d, but experience %d ended at iteration %d",
				rs.name, variant, t, ing.showExp(c), ing.showExp(c-1), ends[c-2])
		}
		if t > ends[c-1] {
			return ing.errAt(at(any), "iteration", "run %s, variant %s: iteration %d with training_exp %d, after the end of experience %d (iteration %d)",
				rs.name, variant, t, ing.showExp(c), ing.showExp(c), ends[c-1])
		}
		for k := 1; k <= c; k++ {
			if k > len(point) || point[k-1].Evaluated != k {
				var have []string
				for _, r := range point {
					have = append(have, strconv.Itoa(ing.showExp(r.Evaluated)))
				}
				return ing.errAt(at(any), "eval_exp", "run %s, variant %s: the evaluation point at iteration %d (training_exp %d) has no record for eval_exp %d (it has %s): each point evaluates every experience trained so far",
					rs.name, variant, t, ing.showExp(c), ing.showExp(k), strings.Join(have, ", "))
			}
		}
		i = j
	}
	return nil
}

// runKey identifies an ingested run: its name, configuration and seed and
// the content of its input files. Ingesting the same files with the same
// options again gives the same key (and stores nothing new).
func runKey(name string, cfg []byte, seed uint64, srcs []store.Source) string {
	h := sha256.New()
	fmt.Fprintf(h, "cleval-ingest\x00%s\x00%s\x00%d\x00", name, cfg, seed)
	parts := make([]string, len(srcs))
	for i, s := range srcs {
		parts[i] = s.SHA256 + ":" + s.Tables
	}
	sort.Strings(parts)
	for _, p := range parts {
		fmt.Fprintf(h, "%s\x00", p)
	}
	return hex.EncodeToString(h.Sum(nil))[:20]
}
