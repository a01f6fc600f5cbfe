package metrics

import (
	"fmt"
	"math"
	"testing"
)

// pt is one evaluation point of a hand-built series: at iteration t, while
// experience c is trained, seen[k-1] samples of experience k (k = 1..c) are
// correct; next >= 0 adds the record of experience c+1 that the harness
// writes at an experience end (-1: none).
type pt struct {
	t, c int
	seen []int
	next int
}

// evals turns points into records; totals[k-1] is the subset size of k.
func evals(totals []int, pts []pt) []EvalRecord {
	var out []EvalRecord
	for _, p := range pts {
		for i, n := range p.seen {
			out = append(out, EvalRecord{Iteration: p.t, Training: p.c, Evaluated: i + 1,
				Variant: VariantLive, Correct: n, Total: totals[i], Subset: SubsetFixed})
		}
		if p.next >= 0 {
			out = append(out, EvalRecord{Iteration: p.t, Training: p.c, Evaluated: p.c + 1,
				Variant: VariantLive, Correct: p.next, Total: totals[p.c], Subset: SubsetFixed})
		}
	}
	// Reverse so that no test depends on records arriving in order.
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return out
}

// matrix turns rows of correct counts (rows[i][j-1] for R_{i,j}) into
// records; totals[j-1] is the test-set size of j.
func matrix(totals []int, rows [][]int) []MatrixRecord {
	var out []MatrixRecord
	for i, row := range rows {
		for j, n := range row {
			out = append(out, MatrixRecord{Row: i, Col: j + 1, Variant: VariantLive, Correct: n, Total: totals[j]})
		}
	}
	return out
}

func val(name string, x float64) Value             { return Value{Name: name, Value: x} }
func valK(name string, k int, x float64) Value     { return Value{Name: name, K: k, Value: x} }
func nullV(name string) Value                      { return Value{Name: name, Null: true} }
func valKJ(name string, k, j int, x float64) Value { return Value{Name: name, K: k, J: j, Value: x} }

// gapKJ lists the five per-transition values in output order.
func gapKJ(k, j int, depth, ttt, rec, r90, area float64) []Value {
	return []Value{
		valKJ(NameGapDepth, k, j, depth), valKJ(NameGapTimeToTrough, k, j, ttt),
		valKJ(NameGapRecovery, k, j, rec), valKJ(NameGapR90, k, j, r90), valKJ(NameGapArea, k, j, area),
	}
}

func nullKJ(k, j int) []Value {
	var out []Value
	for _, n := range transitionNames {
		out = append(out, Value{Name: n, K: k, J: j, Null: true})
	}
	return out
}

func cat(parts ...[]Value) []Value {
	var out []Value
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

const tol = 1e-12

func near(a, b float64) bool { return math.Abs(a-b) <= tol }

func (v Value) String() string {
	if v.Null {
		return fmt.Sprintf("%s[%d,%d]=NULL", v.Name, v.K, v.J)
	}
	return fmt.Sprintf("%s[%d,%d]=%.15g", v.Name, v.K, v.J, v.Value)
}

// checkValues compares the whole output, order included.
func checkValues(t *testing.T, got, want []Value) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("got %d values, want %d", len(got), len(want))
	}
	for i := 0; i < min(len(got), len(want)); i++ {
		g, w := got[i], want[i]
		ok := g.Name == w.Name && g.K == w.K && g.J == w.J && g.Null == w.Null
		if ok && !w.Null {
			ok = near(g.Value, w.Value)
		}
		if ok && g.Null && g.Value != 0 {
			ok = false
		}
		if !ok {
			t.Errorf("value %d: got %v, want %v", i, g, w)
		}
	}
}

// lookup returns the value with the given key.
func lookup(t *testing.T, vs []Value, name string, k, j int) Value {
	t.Helper()
	for _, v := range vs {
		if v.Name == name && v.K == k && v.J == j {
			return v
		}
	}
	t.Fatalf("no value %s[%d,%d]", name, k, j)
	return Value{}
}

// The main fixture: T = 3, evaluation period 1, e = (2, 6, 9), every subset
// of 10 samples, so A = correct/10. Columns A1 A2 A3; "u" marks the
// unseen record of the next experience at an end (used by LCA only).
//
//	t  c   A1   A2   A3
//	0  1   .1
//	1  1   .6
//	2  1   .8  (.1u)          e_1
//	3  2   .3   .4
//	4  2   .7   .6
//	5  2   .3   .6
//	6  2   .5   .7  (.2u)     e_2
//	7  3   .6   .8   .5
//	8  3   .2   .9   .7
//	9  3   .4   .8   .8       e_3
var mainPoints = []pt{
	{0, 1, []int{1}, -1},
	{1, 1, []int{6}, -1},
	{2, 1, []int{8}, 1},
	{3, 2, []int{3, 4}, -1},
	{4, 2, []int{7, 6}, -1},
	{5, 2, []int{3, 6}, -1},
	{6, 2, []int{5, 7}, 2},
	{7, 3, []int{6, 8, 5}, -1},
	{8, 3, []int{2, 9, 7}, -1},
	{9, 3, []int{4, 8, 8}, -1},
}

// mainMatrix: test sets of 100, 50 and 200 samples.
//
//	R    j=1        j=2        j=3
//	0    10/100=.1  4/50=.08   20/200=.1
//	1    60/100=.6  10/50=.2   30/200=.15
//	2    80/100=.8  45/50=.9   40/200=.2
//	3    70/100=.7  30/50=.6   180/200=.9
var (
	mainMatrixTotals = []int{100, 50, 200}
	mainMatrixRows   = [][]int{{10, 4, 20}, {60, 10, 30}, {80, 45, 40}, {70, 30, 180}}
)

func mainInput() Input {
	return Input{
		NumExperiences: 3,
		Ends:           []int{2, 6, 9},
		Evals:          evals([]int{10, 10, 10}, mainPoints),
		Matrix:         matrix(mainMatrixTotals, mainMatrixRows),
	}
}

// mainMatrixValues are the matrix metrics of mainMatrix:
//
//	acc         = (.7 + .6 + .9)/3                         = 2.2/3
//	acc_sw      = (70+30+180)/(100+50+200) = 280/350       = .8
//	avg_inc_acc = (.6 + (.8+.9)/2 + 2.2/3)/3
//	forgetting_first = ((.6-.7) + (.9-.6))/2 = .2/2        = .1
//	forgetting_max   = ((max(.6,.8)-.7) + (.9-.6))/2 = .4/2 = .2
//	bwt         = ((.7-.6) + (.6-.9))/2                    = -.1
//	fwt         = ((.2-.08) + (.2-.1))/2 = .22/2           = .11
func mainMatrixValues() []Value {
	return []Value{
		val(NameACC, 2.2/3),
		val(NameACCSW, 0.8),
		val(NameAvgIncACC, (0.6+0.85+2.2/3)/3),
		val(NameForgettingFirst, 0.1),
		val(NameForgettingMax, 0.2),
		val(NameBWT, -0.1),
		val(NameFWT, 0.11),
	}
}

func TestComputeMainFixture(t *testing.T) {
	got, err := Compute(mainInput())
	if err != nil {
		t.Fatal(err)
	}
	want := cat(
		[]Value{
			// min-ACC(9): k=1 over (2,9]: min(.3,.7,.3,.5,.6,.2,.4) = .2;
			// k=2 over (6,9]: min(.8,.9,.8) = .8; mean .5.
			val(NameMinACC, 0.5),
			// WC-ACC(9) = (1/3)A3(9) + (2/3)min-ACC = .8/3 + 1/3 = .6.
			val(NameWCACC, 0.6),
			// Windows of 10 and 100 hold every seen value here.
			// WF: largest drop, A1 .8 (t2) -> .2 (t8) = .6; A2 seen
			// .4 .6 .6 .7 .8 .9 .8: .1; A3 .5 .7 .8: 0. (.6+.1+0)/3.
			val(NameWF10, 0.7/3),
			val(NameWF100, 0.7/3),
			// WP: A1 .1 -> .8 = .7; A2 .4 -> .9 = .5 (the unseen .1 at t2
			// is not used); A3 .5 -> .8 = .3. 1.5/3 = .5.
			val(NameWP10, 0.5),
			val(NameWP100, 0.5),
			// LCA10: only A1 has 10 points from t=0:
			// (.1+.6+.8+.3+.7+.3+.5+.6+.2+.4)/10 = 4.5/10. A2 has 8
			// points from e_1 = 2 (the unseen one included), A3 4.
			val(NameLCA10, 0.45),
			// Acc_seen per point: .1 .6 .8 .35 .65 .45 .6 1.9/3 .6 2/3,
			// sum 5.45 over 10 points; rho = 1 so aaa_iter is the same.
			val(NameAAA, 0.545),
			val(NameAAAIter, 0.545),
		},
		mainMatrixValues(),
		[]Value{
			// Depths .5, .3, -.1; times to trough 1, 2, 1; r90 2, 3, 1;
			// areas .35, .4/3, 0 (see the per-transition values below).
			val(NameGapDepthMean, 0.7/3),
			val(NameGapDepthMax, 0.5),
			val(NameGapTimeToTroughMean, 4.0/3),
			val(NameGapR90Mean, 2),
			val(NameGapAreaMean, (0.35+0.4/3)/3),
			valK(NameMinACC, 1, 0.2),
			valK(NameMinACC, 2, 0.8),
		},
		// (k=1, j=2): a = A1(2) = .8; (2,6]: .3 .7 .3 .5; trough .3 first
		// at s*=3 (tie with t=5). depth .5; time 3-2 = 1; recovery
		// (.5-.3)/(.8-.3) = .4; r90 threshold .3+.9*.2 = .48, first s >= 3
		// reaching it is 4 -> 2 (the tie taken last would give 6-2 = 4);
		// area ((.8-.3)+(.8-.7)+(.8-.3)+(.8-.5))*1/4 = 1.4/4 = .35.
		gapKJ(1, 2, 0.5, 1, 0.4, 2, 0.35),
		// (k=1, j=3): a = A1(6) = .5; (6,9]: .6 .2 .4; trough .2 at 8.
		// depth .3; time 2; recovery (.4-.2)/(.5-.2) = 2/3; threshold
		// .2+.9*.2 = .38: t7 (.6) is before s* so does not count, t8 .2
		// no, t9 .4 yes -> 3; area (0 + .3 + .1)/3.
		gapKJ(1, 3, 0.3, 2, 2.0/3, 3, 0.4/3),
		// (k=2, j=3): a = A2(6) = .7; (6,9]: .8 .9 .8; trough .8 first at
		// 7. depth -.1 (reported as is); time 1; a <= m so recovery 1;
		// threshold .8 -> t7 -> 1; area 0.
		gapKJ(2, 3, -0.1, 1, 1, 1, 0),
	)
	checkValues(t, got, want)
}

// seriesCase checks one series against per-point expectations (NaN = Null).
func checkSeries(t *testing.T, got []Point, times []int, want []float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d points, want %d: %v", len(got), len(want), got)
	}
	for i, p := range got {
		w := want[i]
		bad := p.T != times[i] || p.Null != math.IsNaN(w) || (!p.Null && !near(p.Value, w))
		if bad {
			t.Errorf("point %d: got %+v, want T=%d %v", i, p, times[i], w)
		}
	}
}

func TestSeriesMainFixture(t *testing.T) {
	in := mainInput()
	times := []int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}
	nan := math.NaN()
	third := 1.0 / 3
	cases := []struct {
		name string
		f    func(Input) ([]Point, error)
		want []float64
	}{
		// min-ACC: Null while c = 1; during exp 2 min of A1 over (2,t]
		// (.3 from t3 on); during exp 3 (min A1 + min A2 over (6,t])/2:
		// t7 (.3+.8)/2, t8 (.2+.8)/2, t9 (.2+.8)/2.
		{"MinACC", MinACCSeries, []float64{nan, nan, nan, .3, .3, .3, .3, .55, .5, .5}},
		// WC-ACC: A1 while c = 1; c = 2: A2/2 + min/2 (t3 .2+.15,
		// t4 .3+.15, t5 .3+.15, t6 .35+.15); c = 3: A3/3 + 2/3 min
		// (t7 .5/3+.55*2/3, t8 .7/3+1/3, t9 .8/3+1/3).
		{"WCACC", WCACCSeries, []float64{.1, .6, .8, .35, .45, .45, .5, .5*third + .55*2*third, .7*third + third, .8*third + third}},
		// Acc_seen (equal subset sizes, so also the task mean).
		{"AccSeen", AccSeenSeries, []float64{.1, .6, .8, .35, .65, .45, .6, 1.9 / 3, .6, 2.0 / 3}},
		{"AvgAcc", AvgAccSeries, []float64{.1, .6, .8, .35, .65, .45, .6, 1.9 / 3, .6, 2.0 / 3}},
		// Running means of Acc_seen: partial sums .1 .7 1.5 1.85 2.5 2.95
		// 3.55 4.18333 4.78333 5.45.
		{"AAA", AAASeries, []float64{.1, .7 / 2, 1.5 / 3, 1.85 / 4, 2.5 / 5, 2.95 / 6, 3.55 / 7, (3.55 + 1.9/3) / 8, (4.15 + 1.9/3) / 9, .545}},
		{"AAAIter", AAAIterSeries, []float64{.1, .7 / 2, 1.5 / 3, 1.85 / 4, 2.5 / 5, 2.95 / 6, 3.55 / 7, (3.55 + 1.9/3) / 8, (4.15 + 1.9/3) / 9, .545}},
		// WP^2 (adjacent pairs only). A1 rises .5 (t0->1), so WP_1 = .5
		// from t1; A2 (from t3): .2 at t4; A3 (from t7): .2 at t8.
		// t0: (0)/1; t1-2: .5/1; t3: (.5+0)/2; t4-6: (.5+.2)/2;
		// t7: (.5+.2+0)/3; t8-9: (.5+.2+.2)/3.
		{"WP2", func(in Input) ([]Point, error) { return WPSeries(in, 2) }, []float64{0, .5, .5, .25, .35, .35, .35, .7 / 3, .3, .3}},
		// WP^3 adds pairs two apart: A1 .1 -> .8 (t0, t2) = .7 at t2;
		// A2 and A3 unchanged except A3 .5 -> .8 (t7, t9) = .3 at t9.
		{"WP3", func(in Input) ([]Point, error) { return WPSeries(in, 3) }, []float64{0, .5, .7, .35, .45, .45, .45, .9 / 3, 1.1 / 3, 1.2 / 3}},
		// WF^2: A1 drops .8 -> .3 (t2->3) = .5 from t3; A2 .9 -> .8 at t9.
		{"WF2", func(in Input) ([]Point, error) { return WFSeries(in, 2) }, []float64{0, 0, 0, .25, .25, .25, .25, .5 / 3, .5 / 3, .6 / 3}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.f(in)
			if err != nil {
				t.Fatal(err)
			}
			checkSeries(t, got, times, tc.want)
		})
	}

	t.Run("Acc2", func(t *testing.T) {
		// A2 has a record at t2 (unseen, before its first update).
		got, err := AccSeries(in, 2)
		if err != nil {
			t.Fatal(err)
		}
		checkSeries(t, got, []int{2, 3, 4, 5, 6, 7, 8, 9}, []float64{.1, .4, .6, .6, .7, .8, .9, .8})
	})
}

func TestLCAWindow(t *testing.T) {
	d, err := prepare(mainInput())
	if err != nil {
		t.Fatal(err)
	}
	last := len(d.times) - 1
	cases := []struct {
		b    int
		want float64
	}{
		// k=1 from t0: .1 .6 .8 -> .5; k=2 from e_1=2 (unseen .1 counts):
		// .1 .4 .6 -> 1.1/3; k=3 from e_2=6: .2 .5 .7 -> 1.4/3.
		{3, (1.5/3 + 1.1/3 + 1.4/3) / 3},
		// k=1: (.1+.6+.8+.3+.7+.3+.5+.6)/8 = 3.9/8; k=2: t2..t9
		// (.1+.4+.6+.6+.7+.8+.9+.8)/8 = 4.9/8; k=3 has 4 points only.
		{8, (3.9/8 + 4.9/8) / 2},
		// Only k=1 has 9 points: (4.5-.4)/9.
		{9, 4.1 / 9},
		{10, 0.45},
		{11, math.NaN()},
	}
	for _, tc := range cases {
		got := d.lca(tc.b, last)
		if math.IsNaN(tc.want) != math.IsNaN(got) || (!math.IsNaN(got) && !near(got, tc.want)) {
			t.Errorf("lca(%d) = %v, want %v", tc.b, got, tc.want)
		}
	}
}

func TestOneExperience(t *testing.T) {
	// T = 1, e_1 = 3, A1 = .1 .5 .4 .6; R_{0,1} = .1, R_{1,1} = .6.
	in := Input{
		NumExperiences: 1,
		Ends:           []int{3},
		Evals: evals([]int{10}, []pt{
			{0, 1, []int{1}, -1}, {1, 1, []int{5}, -1}, {2, 1, []int{4}, -1}, {3, 1, []int{6}, -1},
		}),
		Matrix: matrix([]int{10}, [][]int{{1}, {6}}),
	}
	got, err := Compute(in)
	if err != nil {
		t.Fatal(err)
	}
	want := []Value{
		nullV(NameMinACC),   // no k < c ever: NULL, not 0
		val(NameWCACC, 0.6), // c = 1: A1(3)
		val(NameWF10, 0.1),  // .5 -> .4
		val(NameWF100, 0.1),
		val(NameWP10, 0.5), // .1 -> .6
		val(NameWP100, 0.5),
		nullV(NameLCA10),               // 4 points < 10
		val(NameAAA, 1.6/4),            // (.1+.5+.4+.6)/4
		val(NameAAAIter, 1.6/4),        // rho = 1
		val(NameACC, 0.6),              // R_{1,1}
		val(NameACCSW, 0.6),            // 6/10
		val(NameAvgIncACC, 0.6),        // R_{1,1}
		nullV(NameForgettingFirst),     // no j < T
		nullV(NameForgettingMax),       //
		nullV(NameBWT),                 //
		nullV(NameFWT),                 // no j >= 2
		nullV(NameGapDepthMean),        // no transition
		nullV(NameGapDepthMax),         //
		nullV(NameGapTimeToTroughMean), //
		nullV(NameGapR90Mean),          //
		nullV(NameGapAreaMean),         //
	}
	checkValues(t, got, want)

	ms, err := MinACCSeries(in)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range ms {
		if !p.Null {
			t.Errorf("min-ACC at %d = %v, want Null", p.T, p.Value)
		}
	}
}

func TestFewerSamples(t *testing.T) {
	// Experience 2 has 3 continual-evaluation samples (fewer than n) and
	// 3 test samples; experience 1 has 10 and 100. e = (1, 2).
	//
	//	t  c  A1     A2
	//	0  1  5/10
	//	1  1  8/10   (0/3 u)   e_1
	//	2  2  6/10   3/3       e_2
	in := Input{
		NumExperiences: 2,
		Ends:           []int{1, 2},
		Evals: evals([]int{10, 3}, []pt{
			{0, 1, []int{5}, -1}, {1, 1, []int{8}, 0}, {2, 2, []int{6, 3}, -1},
		}),
		// R: row0 10/100, 0/3; row1 90/100, 1/3; row2 60/100, 3/3.
		Matrix: matrix([]int{100, 3}, [][]int{{10, 0}, {90, 1}, {60, 3}}),
	}
	got, err := Compute(in)
	if err != nil {
		t.Fatal(err)
	}
	// Acc_seen at t2 is sample-weighted: (6+3)/(10+3) = 9/13, not the
	// task mean (.6+1)/2 = .8.
	aaa := (0.5 + 0.8 + 9.0/13) / 3
	want := cat([]Value{
		val(NameMinACC, 0.6),          // A1 over (1,2]: .6
		val(NameWCACC, 0.5*1+0.5*0.6), // A2(2)/2 + min/2 = .8
		val(NameWF10, 0.1),            // A1 .5 .8 .6: .2; A2 1.0: 0
		val(NameWF100, 0.1),
		val(NameWP10, 0.15), // A1 .3; A2 0
		val(NameWP100, 0.15),
		nullV(NameLCA10),
		val(NameAAA, aaa),
		val(NameAAAIter, aaa),
		val(NameACC, 0.8),            // (.6 + 1)/2
		val(NameACCSW, 63.0/103),     // (60+3)/(100+3)
		val(NameAvgIncACC, 0.85),     // (.9 + (.6+1)/2)/2
		val(NameForgettingFirst, .3), // .9 - .6
		val(NameForgettingMax, .3),
		val(NameBWT, -.3),
		val(NameFWT, 1.0/3), // R_{1,2} - R_{0,2} = 1/3 - 0
		// (1,2): a = .8, trough .6 at 2: depth .2, time 1, recovery
		// (.6-.6)/.2 = 0, threshold .6 -> r90 1, area .2*1/1.
		val(NameGapDepthMean, 0.2),
		val(NameGapDepthMax, 0.2),
		val(NameGapTimeToTroughMean, 1),
		val(NameGapR90Mean, 1),
		val(NameGapAreaMean, 0.2),
		valK(NameMinACC, 1, 0.6),
	}, gapKJ(1, 2, 0.2, 1, 0, 1, 0.2))
	checkValues(t, got, want)
}

func TestEvaluationPeriodLargerThanExperience(t *testing.T) {
	// rho = 4, e = (3, 5, 10): S = {0, 3, 4, 5, 8, 10} (multiples of 4
	// and the ends); experience 2 lasts 2 iterations, less than rho.
	//
	//	t   c  A1  A2  A3
	//	0   1  .2
	//	3   1  .8  (.1u)        e_1
	//	4   2  .5  .6
	//	5   2  .6  .7  (0u)     e_2
	//	8   3  .4  .9  .5
	//	10  3  .7  .8  .9       e_3
	in := Input{
		NumExperiences: 3,
		Ends:           []int{3, 5, 10},
		Evals: evals([]int{10, 10, 10}, []pt{
			{0, 1, []int{2}, -1}, {3, 1, []int{8}, 1}, {4, 2, []int{5, 6}, -1},
			{5, 2, []int{6, 7}, 0}, {8, 3, []int{4, 9, 5}, -1}, {10, 3, []int{7, 8, 9}, -1},
		}),
		Matrix: matrix(mainMatrixTotals, mainMatrixRows),
	}
	got, err := Compute(in)
	if err != nil {
		t.Fatal(err)
	}
	want := cat(
		[]Value{
			// k=1 over (3,10]: min(.5,.6,.4,.7) = .4; k=2 over (5,10]:
			// min(.9,.8) = .8.
			val(NameMinACC, 0.6),
			val(NameWCACC, 0.9/3+2*0.6/3), // .3 + .4
			// WF: A1 .2 .8 .5 .6 .4 .7: .8->.4 = .4; A2 .6 .7 .9 .8: .1;
			// A3 .5 .9: 0. WP: .6, .3, .4.
			val(NameWF10, 0.5/3),
			val(NameWF100, 0.5/3),
			val(NameWP10, 1.3/3),
			val(NameWP100, 1.3/3),
			nullV(NameLCA10), // no experience has 10 points: NULL
			// Acc_seen: .2 .8 .55 .65 .6 .8; plain mean 3.6/6. Weights
			// t - previous t: 1 (t0 - (-1)), 3, 1, 1, 3, 2 (sum 11 = e_T+1):
			// .2 + 2.4 + .55 + .65 + 1.8 + 1.6 = 7.2.
			val(NameAAA, 0.6),
			val(NameAAAIter, 7.2/11),
		},
		mainMatrixValues(),
		[]Value{
			val(NameGapDepthMean, 0.4/3),        // (.3 + .2 - .1)/3
			val(NameGapDepthMax, 0.3),           //
			val(NameGapTimeToTroughMean, 3),     // (1 + 3 + 5)/3
			val(NameGapR90Mean, 4),              // (2 + 5 + 5)/3
			val(NameGapAreaMean, (0.25+0.12)/3), // (.25 + .12 + 0)/3
			valK(NameMinACC, 1, 0.4),
			valK(NameMinACC, 2, 0.8),
		},
		// (1,2): a = .8; (3,5]: .5 (t4) .6 (t5); depth .3, time 1,
		// recovery .1/.3, threshold .59 -> t5 -> 2; area
		// (.3*(4-3) + .2*(5-4))/2 = .25.
		gapKJ(1, 2, 0.3, 1, 1.0/3, 2, 0.25),
		// (1,3): a = .6; (5,10]: .4 (t8) .7 (t10); depth .2, time 3,
		// recovery .3/.2 = 1.5 (above 1, as is), threshold .67 -> t10 ->
		// 5; area (.2*(8-5) + 0*(10-8))/5 = .12.
		gapKJ(1, 3, 0.2, 3, 1.5, 5, 0.12),
		// (2,3): a = .7; .9 .8: trough .8 at t10, depth -.1, time 5,
		// recovery 1, threshold .8 -> t10 -> 5, area 0.
		gapKJ(2, 3, -0.1, 5, 1, 5, 0),
	)
	checkValues(t, got, want)
}

// divergedInput is the main fixture stopped by a NaN loss after t = 7
// (during experience 3): ends (2, 6), matrix rows 0..2.
func divergedInput(s Status) Input {
	var pts []pt
	for _, p := range mainPoints {
		if p.t <= 7 {
			pts = append(pts, p)
		}
	}
	return Input{
		NumExperiences: 3,
		Ends:           []int{2, 6},
		Evals:          evals([]int{10, 10, 10}, pts),
		Matrix:         matrix(mainMatrixTotals, mainMatrixRows[:3]),
		Status:         s,
	}
}

func TestDiverged(t *testing.T) {
	got, err := Compute(divergedInput(StatusDiverged))
	if err != nil {
		t.Fatal(err)
	}
	// Final point t = 7 (c = 3).
	aaa := (3.55 + 1.9/3) / 8 // Acc_seen .1 .6 .8 .35 .65 .45 .6 1.9/3
	want := cat(
		[]Value{
			val(NameMinACC, 0.55),           // (.3 + .8)/2
			val(NameWCACC, 0.5/3+2*0.55/3),  // A3(7)/3 + 2/3 min
			val(NameWF10, 0.5/3),            // A1 .8 -> .3; A2, A3: 0
			val(NameWF100, 0.5/3),           //
			val(NameWP10, 1.1/3),            // A1 .7; A2 .4 -> .8; A3 0
			val(NameWP100, 1.1/3),           //
			nullV(NameLCA10),                // A1 has 8 points only
			val(NameAAA, aaa),               //
			val(NameAAAIter, aaa),           //
			nullV(NameACC),                  // row 3 never evaluated
			nullV(NameACCSW),                //
			nullV(NameAvgIncACC),            //
			nullV(NameForgettingFirst),      //
			nullV(NameForgettingMax),        //
			nullV(NameBWT),                  //
			val(NameFWT, 0.11),              // needs rows 0..2 only
			val(NameGapDepthMean, 0.5),      // only (1,2) completed
			val(NameGapDepthMax, 0.5),       //
			val(NameGapTimeToTroughMean, 1), //
			val(NameGapR90Mean, 2),          //
			val(NameGapAreaMean, 0.35),      //
			valK(NameMinACC, 1, 0.3),        // A1 over (2,7]
			valK(NameMinACC, 2, 0.8),        // A2 over (6,7]
		},
		gapKJ(1, 2, 0.5, 1, 0.4, 2, 0.35),
		nullKJ(1, 3), // transition into 3 never completed
		nullKJ(2, 3),
	)
	checkValues(t, got, want)

	// Diverged during the first experience: no ends, no min-ACC at all.
	in := divergedInput(StatusDiverged)
	in.Ends = nil
	in.Evals = evals([]int{10, 10, 10}, mainPoints[:2])
	in.Matrix = matrix(mainMatrixTotals, mainMatrixRows[:1])
	got, err = Compute(in)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		k, j int
		null bool
		v    float64
	}{
		{NameMinACC, 0, 0, true, 0},
		{NameMinACC, 1, 0, true, 0},
		{NameMinACC, 2, 0, true, 0},
		{NameWCACC, 0, 0, false, 0.6},
		{NameAAA, 0, 0, false, 0.35},
		{NameFWT, 0, 0, true, 0},
		{NameGapDepthMean, 0, 0, true, 0},
		{NameGapDepth, 1, 2, true, 0},
	} {
		v := lookup(t, got, c.name, c.k, c.j)
		if v.Null != c.null || (!c.null && !near(v.Value, c.v)) {
			t.Errorf("%v, want null=%v value=%v", v, c.null, c.v)
		}
	}
}

func TestInterrupted(t *testing.T) {
	in := divergedInput(StatusInterrupted)
	got, err := Compute(in)
	if err != nil || len(got) != 0 {
		t.Fatalf("Compute = %v, %v; want no values, no error", got, err)
	}
	// The partial series stay available for plots.
	s, err := MinACCSeries(in)
	if err != nil {
		t.Fatal(err)
	}
	if len(s) != 8 || s[7].T != 7 || !near(s[7].Value, 0.55) {
		t.Errorf("partial min-ACC series = %v", s)
	}
	// Malformed records are still reported.
	in.Evals[0].Total = 0
	if _, err := Compute(in); err == nil {
		t.Error("Compute accepted a record with Total 0 in an interrupted run")
	}
}

func TestMissingRecords(t *testing.T) {
	t.Run("no evaluation at e_T", func(t *testing.T) {
		in := mainInput()
		in.Evals = evals([]int{10, 10, 10}, mainPoints[:9])
		got, err := Compute(in)
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range []string{NameMinACC, NameWCACC, NameWF10, NameLCA10, NameAAA} {
			if v := lookup(t, got, n, 0, 0); !v.Null {
				t.Errorf("%v, want NULL without the final point", v)
			}
		}
		if v := lookup(t, got, NameACC, 0, 0); v.Null || !near(v.Value, 2.2/3) {
			t.Errorf("%v, want %v", v, 2.2/3)
		}
		// (1,3) has its trough but not A1(e_3): depth, time, area only.
		for _, c := range []struct {
			name string
			null bool
			v    float64
		}{
			{NameGapDepth, false, 0.3},        // a = .5, trough .2 at 8
			{NameGapTimeToTrough, false, 2},   //
			{NameGapRecovery, true, 0},        // needs A1(9)
			{NameGapR90, true, 0},             // needs A1(9)
			{NameGapArea, false, (0.3) / 3.0}, // (0*1 + .3*1)/(9-6)
		} {
			v := lookup(t, got, c.name, 1, 3)
			if v.Null != c.null || (!c.null && !near(v.Value, c.v)) {
				t.Errorf("%v, want null=%v value=%v", v, c.null, c.v)
			}
		}
	})
	t.Run("A1 missing at t=8", func(t *testing.T) {
		in := mainInput()
		kept := in.Evals[:0]
		for _, r := range in.Evals {
			if r.Iteration != 8 || r.Evaluated != 1 {
				kept = append(kept, r)
			}
		}
		in.Evals = kept
		got, err := Compute(in)
		if err != nil {
			t.Fatal(err)
		}
		// The minimum of A1 over (2,9] is unknown, so min-ACC_1, min-ACC,
		// WC-ACC and the (1,3) trough are NULL; min-ACC_2 is not.
		for _, k := range []struct {
			name string
			k, j int
		}{{NameMinACC, 0, 0}, {NameWCACC, 0, 0}, {NameMinACC, 1, 0}, {NameGapDepth, 1, 3}, {NameGapR90, 1, 3}} {
			if v := lookup(t, got, k.name, k.k, k.j); !v.Null {
				t.Errorf("%v, want NULL", v)
			}
		}
		if v := lookup(t, got, NameMinACC, 2, 0); v.Null || !near(v.Value, 0.8) {
			t.Errorf("%v, want .8", v)
		}
		// WF skips the missing value: A1 .1 .6 .8 .3 .7 .3 .5 .6 .4 drops
		// at most .5, A2 .1, A3 0.
		if v := lookup(t, got, NameWF10, 0, 0); v.Null || !near(v.Value, 0.6/3) {
			t.Errorf("%v, want %v", v, 0.6/3)
		}
	})
}

func TestWindowsAcrossEvaluations(t *testing.T) {
	// One experience, A1 = .9 .5 .6 .7 .8 .9 at t = 0..5.
	in := Input{
		NumExperiences: 1,
		Ends:           []int{5},
		Evals: evals([]int{10}, []pt{
			{0, 1, []int{9}, -1}, {1, 1, []int{5}, -1}, {2, 1, []int{6}, -1},
			{3, 1, []int{7}, -1}, {4, 1, []int{8}, -1}, {5, 1, []int{9}, -1},
		}),
	}
	times := []int{0, 1, 2, 3, 4, 5}
	cases := []struct {
		name string
		wp   bool
		w    int
		want []float64
	}{
		// A window of 1 has no pair.
		{"WF1", false, 1, []float64{0, 0, 0, 0, 0, 0}},
		// The .9 -> .5 drop enters at t1 and WF keeps it (running max)
		// after it has left the window: at t2 F = 0 for window (.5,.6).
		{"WF2", false, 2, []float64{0, .4, .4, .4, .4, .4}},
		{"WP1", true, 1, []float64{0, 0, 0, 0, 0, 0}},
		// Adjacent rises are .1.
		{"WP2", true, 2, []float64{0, 0, .1, .1, .1, .1}},
		// Window of 3: .5 -> .7 at t3.
		{"WP3", true, 3, []float64{0, 0, .1, .2, .2, .2}},
		// Window of 10 holds everything: .5 -> .9 at t5.
		{"WP10", true, 10, []float64{0, 0, .1, .2, .3, .4}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := WFSeries
			if tc.wp {
				f = WPSeries
			}
			got, err := f(in, tc.w)
			if err != nil {
				t.Fatal(err)
			}
			checkSeries(t, got, times, tc.want)
		})
	}
	if _, err := WFSeries(in, 0); err == nil {
		t.Error("WFSeries accepted window 0")
	}
}

func TestEndsFromRecords(t *testing.T) {
	ev := mainInput().Evals
	cases := []struct {
		last int
		want []int
	}{
		{3, []int{2, 6, 9}},
		{2, []int{2, 6}},
		{0, nil},
		{4, []int{2, 6, 9, -1}}, // no record for experience 4
	}
	for _, tc := range cases {
		got := EndsFromRecords(ev, tc.last)
		if fmt.Sprint(got) != fmt.Sprint(tc.want) || (got == nil) != (tc.want == nil) {
			t.Errorf("EndsFromRecords(_, %d) = %v, want %v", tc.last, got, tc.want)
		}
	}
	in := mainInput()
	in.NumExperiences = 4
	in.Status = StatusDiverged
	in.Ends = EndsFromRecords(in.Evals, 4)
	if _, err := Compute(in); err == nil {
		t.Error("Compute accepted an end of -1")
	}
}

func TestStatusString(t *testing.T) {
	for s, want := range map[Status]string{StatusComplete: "complete", StatusDiverged: "diverged", StatusInterrupted: "interrupted", 7: "Status(7)"} {
		if got := s.String(); got != want {
			t.Errorf("%d: %q, want %q", int(s), got, want)
		}
	}
}
