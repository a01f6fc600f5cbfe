package metrics

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// naive is a deliberately literal re-implementation of docs/metrics.md and the
// package's documented decisions: maps instead of arrays, every quantity
// recomputed from scratch, windows materialised, all pairs compared. It is
// slow and only meant to be obviously right. It assumes valid input.
type naive struct {
	T     int
	ends  map[int]int // k -> e_k, with ends[0] = 0
	m     int
	S     []int
	A     map[[2]int]float64 // (t, k) -> A_k(t)
	c     map[int]int        // t -> c(t)
	corr  map[int]int        // t -> seen Correct
	tot   map[int]int        // t -> seen Total
	R     map[[2]int]float64 // (i, j) -> R_{i,j}
	RC    map[[2]int]int
	RT    map[[2]int]int
	final int
	has   bool // a final point exists
}

func newNaive(in Input) *naive {
	n := &naive{T: in.NumExperiences, ends: map[int]int{0: 0}, m: len(in.Ends),
		A: map[[2]int]float64{}, c: map[int]int{}, corr: map[int]int{}, tot: map[int]int{},
		R: map[[2]int]float64{}, RC: map[[2]int]int{}, RT: map[[2]int]int{}}
	for k, e := range in.Ends {
		n.ends[k+1] = e
	}
	for _, r := range in.Evals {
		if !slices.Contains(n.S, r.Iteration) {
			n.S = append(n.S, r.Iteration)
		}
		n.A[[2]int{r.Iteration, r.Evaluated}] = float64(r.Correct) / float64(r.Total)
		n.c[r.Iteration] = r.Training
		if r.Evaluated <= r.Training {
			n.corr[r.Iteration] += r.Correct
			n.tot[r.Iteration] += r.Total
		}
	}
	slices.Sort(n.S)
	for _, r := range in.Matrix {
		key := [2]int{r.Row, r.Col}
		n.R[key] = float64(r.Correct) / float64(r.Total)
		n.RC[key], n.RT[key] = r.Correct, r.Total
	}
	if in.Status == StatusComplete {
		n.final = n.ends[n.T]
		n.has = slices.Contains(n.S, n.final)
	} else if len(n.S) > 0 {
		n.final, n.has = n.S[len(n.S)-1], true
	}
	return n
}

// seen reports whether A_k(t) exists and is a seen record.
func (n *naive) seen(t, k int) (float64, bool) {
	v, ok := n.A[[2]int{t, k}]
	return v, ok && k <= n.c[t]
}

func (n *naive) minACCk(t, k int) (float64, bool) {
	if k >= n.c[t] {
		return 0, false
	}
	best, found := 0.0, false
	for _, s := range n.S {
		if s > n.ends[k] && s <= t {
			v, ok := n.A[[2]int{s, k}]
			if !ok {
				return 0, false
			}
			if !found || v < best {
				best, found = v, true
			}
		}
	}
	return best, found
}

func (n *naive) minACC(t int) (float64, bool) {
	c := n.c[t]
	if c == 1 {
		return 0, false
	}
	sum := 0.0
	for k := 1; k < c; k++ {
		v, ok := n.minACCk(t, k)
		if !ok {
			return 0, false
		}
		sum += v
	}
	return sum / float64(c-1), true
}

func (n *naive) wcACC(t int) (float64, bool) {
	c := n.c[t]
	ac, ok := n.A[[2]int{t, c}]
	if !ok {
		return 0, false
	}
	if c == 1 {
		return ac, true
	}
	mn, ok := n.minACC(t)
	if !ok {
		return 0, false
	}
	return ac/float64(c) + (1-1/float64(c))*mn, true
}

// window returns the last w seen values of A_k at points <= s.
func (n *naive) window(s, k, w int) []float64 {
	var seq []float64
	for _, u := range n.S {
		if u > s {
			break
		}
		if v, ok := n.seen(u, k); ok {
			seq = append(seq, v)
		}
	}
	if len(seq) > w {
		seq = seq[len(seq)-w:]
	}
	return seq
}

// windowed returns WF^w(t) (rise false) or WP^w(t).
func (n *naive) windowed(t, w int, rise bool) (float64, bool) {
	sum, cnt := 0.0, 0
	for k := 1; k <= n.T; k++ {
		evaluated := false
		wfk := 0.0
		for _, s := range n.S {
			if s > t {
				break
			}
			win := n.window(s, k, w)
			if len(win) == 0 {
				continue
			}
			evaluated = true
			F := 0.0
			for i := 0; i < len(win); i++ {
				for j := i + 1; j < len(win); j++ {
					d := win[i] - win[j]
					if rise {
						d = win[j] - win[i]
					}
					F = max(F, d)
				}
			}
			wfk = max(wfk, F)
		}
		if evaluated {
			sum += wfk
			cnt++
		}
	}
	if cnt == 0 {
		return 0, false
	}
	return sum / float64(cnt), true
}

func (n *naive) lca(b, tEnd int) (float64, bool) {
	sum, cnt := 0.0, 0
	for k := 1; k <= n.T; k++ {
		start, ok := n.ends[k-1]
		if !ok {
			continue
		}
		var vals []float64
		for _, s := range n.S {
			if s >= start && s <= tEnd {
				if v, ok := n.A[[2]int{s, k}]; ok {
					vals = append(vals, v)
				}
			}
		}
		if len(vals) >= b {
			x := 0.0
			for _, v := range vals[:b] {
				x += v
			}
			sum += x / float64(b)
			cnt++
		}
	}
	if cnt == 0 {
		return 0, false
	}
	return sum / float64(cnt), true
}

func (n *naive) accSeen(t int) (float64, bool) {
	if n.tot[t] == 0 {
		return 0, false
	}
	return float64(n.corr[t]) / float64(n.tot[t]), true
}

// aaa returns the plain and iteration-weighted AAA at t.
func (n *naive) aaa(t int) (plain, iter float64, ok bool) {
	var pts []int
	for _, s := range n.S {
		if s <= t {
			if _, ok := n.accSeen(s); ok {
				pts = append(pts, s)
			}
		}
	}
	if len(pts) == 0 {
		return 0, 0, false
	}
	sum, wsum, wtot := 0.0, 0.0, 0.0
	for i, s := range pts {
		a, _ := n.accSeen(s)
		prev := -1
		if i > 0 {
			prev = pts[i-1]
		}
		sum += a
		wsum += a * float64(s-prev)
		wtot += float64(s - prev)
	}
	return sum / float64(len(pts)), wsum / wtot, true
}

type naiveGap struct {
	depth, ttt, rec, r90, area           float64
	okDepth, okTTT, okRec, okR90, okArea bool
}

func (n *naive) gap(k, j int) naiveGap {
	var g naiveGap
	e0, ok0 := n.ends[j-1]
	e1, ok1 := n.ends[j]
	if !ok0 || !ok1 {
		return g
	}
	var in []int
	for _, s := range n.S {
		if s > e0 && s <= e1 {
			if _, ok := n.A[[2]int{s, k}]; !ok {
				return g
			}
			in = append(in, s)
		}
	}
	if len(in) == 0 {
		return g
	}
	m, sStar := math.Inf(1), -1
	for _, s := range in {
		if v := n.A[[2]int{s, k}]; v < m {
			m, sStar = v, s
		}
	}
	g.ttt, g.okTTT = float64(sStar-e0), true
	a, okA := n.A[[2]int{e0, k}]
	if okA {
		g.depth, g.okDepth = a-m, true
		area := 0.0
		for i, s := range in {
			prev := e0
			if i > 0 {
				prev = in[i-1]
			}
			area += max(0, a-n.A[[2]int{s, k}]) * float64(s-prev)
		}
		g.area, g.okArea = area/float64(e1-e0), true
	}
	end, okEnd := n.A[[2]int{e1, k}]
	if !okEnd {
		return g
	}
	if okA {
		g.okRec = true
		if a > m {
			g.rec = (end - m) / (a - m)
		} else {
			g.rec = 1
		}
	}
	for _, s := range in {
		if s >= sStar && (n.A[[2]int{s, k}] >= m+0.9*(end-m) || s == e1) {
			g.r90, g.okR90 = float64(s-e0), true
			break
		}
	}
	return g
}

// r returns R_{i,j} for every listed key, or false if one is missing.
func (n *naive) r(i, j int) (float64, bool) {
	v, ok := n.R[[2]int{i, j}]
	return v, ok
}

func nv(name string, k, j int, v float64, ok bool) Value {
	if !ok {
		return Value{Name: name, K: k, J: j, Null: true}
	}
	return Value{Name: name, K: k, J: j, Value: v}
}

func (n *naive) compute() []Value {
	T := n.T
	var out []Value
	f := n.final
	has := n.has
	get := func(v float64, ok bool) (float64, bool) { return v, ok && has }

	mn, ok := n.minACC(f)
	out = append(out, nv(NameMinACC, 0, 0, mn, ok && has))
	wc, ok := n.wcACC(f)
	out = append(out, nv(NameWCACC, 0, 0, wc, ok && has))
	for _, c := range []struct {
		name string
		w    int
		rise bool
	}{{NameWF10, 10, false}, {NameWF100, 100, false}, {NameWP10, 10, true}, {NameWP100, 100, true}} {
		v, ok := get(n.windowed(f, c.w, c.rise))
		out = append(out, nv(c.name, 0, 0, v, ok))
	}
	v, ok := get(n.lca(10, f))
	out = append(out, nv(NameLCA10, 0, 0, v, ok))
	p, it, ok := n.aaa(f)
	out = append(out, nv(NameAAA, 0, 0, p, ok && has), nv(NameAAAIter, 0, 0, it, ok && has))

	// Matrix metrics, each from the entries it names.
	{
		sum, corr, tot, ok := 0.0, 0, 0, true
		for j := 1; j <= T; j++ {
			x, o := n.r(T, j)
			ok = ok && o
			sum += x
			corr += n.RC[[2]int{T, j}]
			tot += n.RT[[2]int{T, j}]
		}
		out = append(out, nv(NameACC, 0, 0, sum/float64(T), ok))
		out = append(out, nv(NameACCSW, 0, 0, float64(corr)/float64(tot), ok))

		sum, ok = 0, true
		for i := 1; i <= T; i++ {
			row := 0.0
			for j := 1; j <= i; j++ {
				x, o := n.r(i, j)
				ok = ok && o
				row += x
			}
			sum += row / float64(i)
		}
		out = append(out, nv(NameAvgIncACC, 0, 0, sum/float64(T), ok))

		var ff, fm, bwt, fwt float64
		okF, okM, okB, okW := T > 1, T > 1, T > 1, T > 1
		for j := 1; j < T; j++ {
			rjj, o1 := n.r(j, j)
			rTj, o2 := n.r(T, j)
			okF = okF && o1 && o2
			okB = okB && o1 && o2
			ff += rjj - rTj
			bwt += rTj - rjj
			best := math.Inf(-1)
			for i := j; i < T; i++ {
				x, o := n.r(i, j)
				okM = okM && o
				best = max(best, x)
			}
			okM = okM && o2
			fm += best - rTj
		}
		for j := 2; j <= T; j++ {
			a, o1 := n.r(j-1, j)
			b, o2 := n.r(0, j)
			okW = okW && o1 && o2
			fwt += a - b
		}
		d := float64(T - 1)
		out = append(out,
			nv(NameForgettingFirst, 0, 0, ff/d, okF),
			nv(NameForgettingMax, 0, 0, fm/d, okM),
			nv(NameBWT, 0, 0, bwt/d, okB),
			nv(NameFWT, 0, 0, fwt/d, okW))
	}

	var gaps []naiveGap
	for j := 2; j <= T; j++ {
		for k := 1; k < j; k++ {
			gaps = append(gaps, n.gap(k, j))
		}
	}
	summary := func(pick func(naiveGap) (float64, bool), takeMax bool) (float64, bool) {
		var vals []float64
		for _, g := range gaps {
			if v, ok := pick(g); ok {
				vals = append(vals, v)
			}
		}
		if len(vals) == 0 {
			return 0, false
		}
		if takeMax {
			return slices.Max(vals), true
		}
		s := 0.0
		for _, v := range vals {
			s += v
		}
		return s / float64(len(vals)), true
	}
	depth := func(g naiveGap) (float64, bool) { return g.depth, g.okDepth }
	v, ok = summary(depth, false)
	out = append(out, nv(NameGapDepthMean, 0, 0, v, ok))
	v, ok = summary(depth, true)
	out = append(out, nv(NameGapDepthMax, 0, 0, v, ok))
	v, ok = summary(func(g naiveGap) (float64, bool) { return g.ttt, g.okTTT }, false)
	out = append(out, nv(NameGapTimeToTroughMean, 0, 0, v, ok))
	v, ok = summary(func(g naiveGap) (float64, bool) { return g.r90, g.okR90 }, false)
	out = append(out, nv(NameGapR90Mean, 0, 0, v, ok))
	v, ok = summary(func(g naiveGap) (float64, bool) { return g.area, g.okArea }, false)
	out = append(out, nv(NameGapAreaMean, 0, 0, v, ok))

	for k := 1; k < T; k++ {
		v, ok := n.minACCk(f, k)
		out = append(out, nv(NameMinACC, k, 0, v, ok && has))
	}
	i := 0
	for j := 2; j <= T; j++ {
		for k := 1; k < j; k++ {
			g := gaps[i]
			i++
			out = append(out,
				nv(NameGapDepth, k, j, g.depth, g.okDepth),
				nv(NameGapTimeToTrough, k, j, g.ttt, g.okTTT),
				nv(NameGapRecovery, k, j, g.rec, g.okRec),
				nv(NameGapR90, k, j, g.r90, g.okR90),
				nv(NameGapArea, k, j, g.area, g.okArea))
		}
	}
	return out
}

// randomRun is a random but valid run: random experience lengths,
// evaluation period, subset sizes and accuracies (small subsets, so ties
// are frequent), optional evaluate-all mode, random status, and sometimes a
// record or a matrix entry missing.
type randomRun struct {
	in   Input
	rho  int
	drop bool // a record was removed
}

func genRun(r *rand.Rand) randomRun {
	T := 1 + r.IntN(4)
	ends := make([]int, T+1)
	for k := 1; k <= T; k++ {
		ends[k] = ends[k-1] + 1 + r.IntN(9)
	}
	rho := 1 + r.IntN(5)
	if r.IntN(3) == 0 {
		rho = 1
	}
	status := StatusComplete
	stop := ends[T]
	switch r.IntN(6) {
	case 0, 1:
		status = StatusDiverged
		stop = r.IntN(ends[T] + 1)
	case 2:
		status = StatusInterrupted
		stop = r.IntN(ends[T] + 1)
	}
	m := T
	if status != StatusComplete {
		m = 0
		for m < T && ends[m+1] <= stop {
			m++
		}
	}
	all := r.IntN(4) == 0       // evaluate every experience at every point
	resampled := r.IntN(2) == 0 // subset size varies per record
	totals := make([]int, T+1)
	for k := range totals {
		totals[k] = 1 + r.IntN(12)
	}
	cur := func(t int) int {
		for k := 1; k <= T; k++ {
			if t <= ends[k] {
				return k
			}
		}
		return T
	}
	var evs []EvalRecord
	for t := 0; t <= stop; t++ {
		isEnd := slices.Contains(ends[1:], t)
		if t != 0 && !isEnd && t%rho != 0 {
			continue
		}
		c := cur(t)
		for k := 1; k <= T; k++ {
			if k > c && !all && !(isEnd && k == c+1) {
				continue
			}
			tot := totals[k]
			if resampled {
				tot = 1 + r.IntN(12)
			}
			evs = append(evs, EvalRecord{Iteration: t, Training: c, Evaluated: k, Variant: VariantLive,
				Correct: r.IntN(tot + 1), Total: tot})
		}
	}
	var mat []MatrixRecord
	for i := 0; i <= m; i++ {
		for j := 1; j <= T; j++ {
			tot := 5 + r.IntN(50)
			mat = append(mat, MatrixRecord{Row: i, Col: j, Variant: VariantLive, Correct: r.IntN(tot + 1), Total: tot})
		}
	}
	run := randomRun{rho: rho}
	if len(evs) > 1 && r.IntN(5) == 0 {
		i := r.IntN(len(evs))
		evs = slices.Delete(evs, i, i+1)
		run.drop = true
	}
	if len(mat) > 1 && r.IntN(5) == 0 {
		i := r.IntN(len(mat))
		mat = slices.Delete(mat, i, i+1)
	}
	r.Shuffle(len(evs), func(i, j int) { evs[i], evs[j] = evs[j], evs[i] })
	r.Shuffle(len(mat), func(i, j int) { mat[i], mat[j] = mat[j], mat[i] })
	run.in = Input{NumExperiences: T, Ends: slices.Clone(ends[1 : m+1]), Evals: evs, Matrix: mat, Status: status}
	return run
}

const propTol = 1e-9

func sameValue(a, b Value) bool {
	if a.Name != b.Name || a.K != b.K || a.J != b.J || a.Null != b.Null {
		return false
	}
	return a.Null || math.Abs(a.Value-b.Value) <= propTol
}

// TestComputeMatchesNaive compares Compute and the series functions with the
// literal implementation above on random runs.
func TestComputeMatchesNaive(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	trials := 2000
	if testing.Short() {
		trials = 200
	}
	for trial := range trials {
		run := genRun(r)
		in := run.in
		got, err := Compute(in)
		if err != nil {
			t.Fatalf("trial %d: %v\ninput %+v", trial, err, in)
		}
		n := newNaive(in)
		if in.Status == StatusInterrupted {
			if len(got) != 0 {
				t.Fatalf("trial %d: interrupted run gave %d values", trial, len(got))
			}
		} else {
			want := n.compute()
			if len(got) != len(want) {
				t.Fatalf("trial %d: %d values, naive %d", trial, len(got), len(want))
			}
			T := in.NumExperiences
			if len(got) != 21+(T-1)+5*T*(T-1)/2 {
				t.Fatalf("trial %d: %d values for T=%d", trial, len(got), T)
			}
			for i := range got {
				if !sameValue(got[i], want[i]) {
					t.Fatalf("trial %d (T=%d rho=%d status=%v ends=%v): value %d = %v, naive %v",
						trial, T, run.rho, in.Status, in.Ends, i, got[i], want[i])
				}
			}
			checkInvariants(t, trial, got, run)
		}

		// Series, at every point (interrupted runs included).
		type series struct {
			name string
			f    func(Input) ([]Point, error)
			ref  func(t int) (float64, bool)
		}
		ss := []series{
			{"min-ACC", MinACCSeries, n.minACC},
			{"WC-ACC", WCACCSeries, n.wcACC},
			{"Acc_seen", AccSeenSeries, n.accSeen},
			{"AAA", AAASeries, func(t int) (float64, bool) { p, _, ok := n.aaa(t); return p, ok }},
			{"AAA iter", AAAIterSeries, func(t int) (float64, bool) { _, it, ok := n.aaa(t); return it, ok }},
		}
		for _, w := range []int{1, 2, 3, 5, 10} {
			ss = append(ss,
				series{"WF", func(in Input) ([]Point, error) { return WFSeries(in, w) },
					func(t int) (float64, bool) { return n.windowed(t, w, false) }},
				series{"WP", func(in Input) ([]Point, error) { return WPSeries(in, w) },
					func(t int) (float64, bool) { return n.windowed(t, w, true) }})
		}
		for _, s := range ss {
			pts, err := s.f(in)
			if err != nil {
				t.Fatalf("trial %d: %s: %v", trial, s.name, err)
			}
			if len(pts) != len(n.S) {
				t.Fatalf("trial %d: %s: %d points, want %d", trial, s.name, len(pts), len(n.S))
			}
			for i, p := range pts {
				v, ok := s.ref(n.S[i])
				if p.T != n.S[i] || p.Null == ok || (ok && math.Abs(p.Value-v) > propTol) {
					t.Fatalf("trial %d: %s at t=%d: got %+v, naive %v (defined %v)", trial, s.name, n.S[i], p, v, ok)
				}
			}
		}
	}
}

// checkInvariants checks identities between metrics that hold on any run.
func checkInvariants(t *testing.T, trial int, vs []Value, run randomRun) {
	t.Helper()
	get := func(name string) Value {
		for _, v := range vs {
			if v.Name == name && v.K == 0 && v.J == 0 {
				return v
			}
		}
		t.Fatalf("no %s", name)
		return Value{}
	}
	ff, fm, bwt := get(NameForgettingFirst), get(NameForgettingMax), get(NameBWT)
	if !ff.Null && !bwt.Null && math.Abs(ff.Value+bwt.Value) > propTol {
		t.Errorf("trial %d: forgetting_first %v != -bwt %v", trial, ff.Value, bwt.Value)
	}
	if !ff.Null && !fm.Null && fm.Value < ff.Value-propTol {
		t.Errorf("trial %d: forgetting_max %v < forgetting_first %v", trial, fm.Value, ff.Value)
	}
	if run.rho == 1 && !run.drop {
		if a, ai := get(NameAAA), get(NameAAAIter); a.Null != ai.Null || math.Abs(a.Value-ai.Value) > propTol {
			t.Errorf("trial %d: rho = 1 but aaa %v != aaa_iter %v", trial, a, ai)
		}
	}
	for _, name := range []string{NameWF10, NameWF100, NameWP10, NameWP100} {
		if v := get(name); !v.Null && (v.Value < 0 || v.Value > 1) {
			t.Errorf("trial %d: %s = %v outside [0, 1]", trial, name, v.Value)
		}
	}
	// A larger window can only see more pairs.
	if a, b := get(NameWF10), get(NameWF100); !a.Null && b.Value < a.Value-propTol {
		t.Errorf("trial %d: wf100 %v < wf10 %v", trial, b.Value, a.Value)
	}
	for _, v := range vs {
		if v.Name == NameGapRecovery && !v.Null && v.Value < 0 {
			t.Errorf("trial %d: %v negative", trial, v)
		}
	}
}
