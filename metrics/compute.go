package metrics

import (
	"math"
	"sort"
)

// Metric names. They are part of the storage schema.
const (
	// Continual-evaluation metrics, final values.
	NameMinACC  = "min_acc" // also per experience, with K = k (k = 1..T-1)
	NameWCACC   = "wc_acc"
	NameWF10    = "wf10"
	NameWF100   = "wf100"
	NameWP10    = "wp10"
	NameWP100   = "wp100"
	NameLCA10   = "lca10"
	NameAAA     = "aaa"
	NameAAAIter = "aaa_iter"

	// Accuracy-matrix metrics.
	NameACC             = "acc"
	NameACCSW           = "acc_sw"
	NameAvgIncACC       = "avg_inc_acc"
	NameForgettingFirst = "forgetting_first"
	NameForgettingMax   = "forgetting_max"
	NameBWT             = "bwt"
	NameFWT             = "fwt"

	// Stability-gap summaries over all transitions (k, j).
	NameGapDepthMean        = "gap_depth_mean"
	NameGapDepthMax         = "gap_depth_max"
	NameGapTimeToTroughMean = "gap_time_to_trough_mean"
	NameGapR90Mean          = "gap_r90_mean"
	NameGapAreaMean         = "gap_area_mean"

	// Stability gap per transition into J of earlier experience K.
	NameGapDepth        = "gap_depth"
	NameGapTimeToTrough = "gap_time_to_trough"
	NameGapRecovery     = "gap_recovery"
	NameGapR90          = "gap_r90"
	NameGapArea         = "gap_area"
)

// runNames are the run-level values (K = J = 0) in output order.
var runNames = [...]string{
	NameMinACC, NameWCACC, NameWF10, NameWF100, NameWP10, NameWP100, NameLCA10, NameAAA, NameAAAIter,
	NameACC, NameACCSW, NameAvgIncACC, NameForgettingFirst, NameForgettingMax, NameBWT, NameFWT,
	NameGapDepthMean, NameGapDepthMax, NameGapTimeToTroughMean, NameGapR90Mean, NameGapAreaMean,
}

// transitionNames are the per-(K, J) values in output order.
var transitionNames = [...]string{NameGapDepth, NameGapTimeToTrough, NameGapRecovery, NameGapR90, NameGapArea}

// Names returns every metric name Compute can produce, each once, in output
// order.
func Names() []string {
	out := append([]string(nil), runNames[:]...)
	return append(out, transitionNames[:]...)
}

// Value is one metric value.
type Value struct {
	// Name is one of the Name* constants.
	Name string
	// K and J are 1-based experience indices: K = k for per-experience
	// min_acc; K = k (earlier experience) and J = j (the experience
	// switched into) for per-transition gap values; both 0 otherwise.
	K, J int
	// Value is the metric: accuracies and their differences as fractions,
	// times (gap_time_to_trough, gap_r90) in iterations. 0 when Null.
	Value float64
	// Null reports that the metric is undefined for this run (stored as
	// SQL NULL).
	Null bool
}

func newValue(name string, k, j int, v float64) Value {
	if math.IsNaN(v) {
		return Value{Name: name, K: k, J: j, Null: true}
	}
	return Value{Name: name, K: k, J: j, Value: v}
}

// Compute returns every metric of one variant of one run. The order is
// fixed: the 21 run-level values in the order of Names, then per-experience
// min_acc for K = 1..T-1, then for each transition J = 2..T and K = 1..J-1
// the five gap values gap_depth, gap_time_to_trough, gap_recovery, gap_r90,
// gap_area. Undefined values are present with Null set, so a run always
// yields 21 + (T-1) + 5T(T-1)/2 values; an interrupted run yields none.
// Malformed input returns an error wrapping ErrInvalidInput.
func Compute(in Input) ([]Value, error) {
	d, err := prepare(in)
	if err != nil {
		return nil, err
	}
	if in.Status == StatusInterrupted {
		return []Value{}, nil
	}
	T := d.numExp
	last := d.finalPoint(in.Status)
	out := make([]Value, 0, len(runNames)+(T-1)+len(transitionNames)*T*(T-1)/2)

	// The sweeps fill every point up to last; the final values are at last.
	perK := make([]float64, T-1)
	minS := make([]float64, last+1)
	wcS := make([]float64, last+1)
	d.minACCSweep(last, minS, wcS, perK)
	minACC, wcACC := math.NaN(), math.NaN()
	if last >= 0 {
		minACC, wcACC = minS[last], wcS[last]
	}
	aaa, aaaIter := d.aaaSweep(last, nil, nil)
	out = append(out,
		newValue(NameMinACC, 0, 0, minACC),
		newValue(NameWCACC, 0, 0, wcACC),
		newValue(NameWF10, 0, 0, d.windowSweep(10, false, last, nil)),
		newValue(NameWF100, 0, 0, d.windowSweep(100, false, last, nil)),
		newValue(NameWP10, 0, 0, d.windowSweep(10, true, last, nil)),
		newValue(NameWP100, 0, 0, d.windowSweep(100, true, last, nil)),
		newValue(NameLCA10, 0, 0, d.lca(10, last)),
		newValue(NameAAA, 0, 0, aaa),
		newValue(NameAAAIter, 0, 0, aaaIter),
	)

	r := d.matrixMetrics()
	out = append(out,
		newValue(NameACC, 0, 0, r.acc),
		newValue(NameACCSW, 0, 0, r.accSW),
		newValue(NameAvgIncACC, 0, 0, r.avgInc),
		newValue(NameForgettingFirst, 0, 0, r.forgetFirst),
		newValue(NameForgettingMax, 0, 0, r.forgetMax),
		newValue(NameBWT, 0, 0, r.bwt),
		newValue(NameFWT, 0, 0, r.fwt),
	)

	gaps := make([]gapValues, 0, T*(T-1)/2)
	for j := 2; j <= T; j++ {
		for k := 1; k < j; k++ {
			gaps = append(gaps, d.gap(k, j))
		}
	}
	var depthSum, depthMax, tttSum, r90Sum, areaSum float64
	var depthN, tttN, r90N, areaN int
	depthMax = math.NaN()
	for _, g := range gaps {
		if !math.IsNaN(g.depth) {
			depthSum += g.depth
			depthN++
			if math.IsNaN(depthMax) || g.depth > depthMax {
				depthMax = g.depth
			}
		}
		if !math.IsNaN(g.timeToTrough) {
			tttSum += g.timeToTrough
			tttN++
		}
		if !math.IsNaN(g.r90) {
			r90Sum += g.r90
			r90N++
		}
		if !math.IsNaN(g.area) {
			areaSum += g.area
			areaN++
		}
	}
	out = append(out,
		newValue(NameGapDepthMean, 0, 0, mean(depthSum, depthN)),
		newValue(NameGapDepthMax, 0, 0, depthMax),
		newValue(NameGapTimeToTroughMean, 0, 0, mean(tttSum, tttN)),
		newValue(NameGapR90Mean, 0, 0, mean(r90Sum, r90N)),
		newValue(NameGapAreaMean, 0, 0, mean(areaSum, areaN)),
	)

	for k := 1; k < T; k++ {
		out = append(out, newValue(NameMinACC, k, 0, perK[k-1]))
	}
	i := 0
	for j := 2; j <= T; j++ {
		for k := 1; k < j; k++ {
			g := gaps[i]
			i++
			out = append(out,
				newValue(NameGapDepth, k, j, g.depth),
				newValue(NameGapTimeToTrough, k, j, g.timeToTrough),
				newValue(NameGapRecovery, k, j, g.recovery),
				newValue(NameGapR90, k, j, g.r90),
				newValue(NameGapArea, k, j, g.area),
			)
		}
	}
	return out, nil
}

// gapValues are the stability-gap values of one transition; NaN when
// undefined. Times are in iterations.
type gapValues struct {
	depth, timeToTrough, recovery, r90, area float64
}

// gap computes the stability gap of experience k at the transition into
// experience j (k < j).
func (d *data) gap(k, j int) gapValues {
	nan := math.NaN()
	g := gapValues{nan, nan, nan, nan, nan}
	if j > d.m {
		return g // the transition never completed
	}
	e0, e1 := d.ends[j-1], d.ends[j]
	lo := sort.SearchInts(d.times, e0+1) // first point > e_{j-1}
	hi := sort.SearchInts(d.times, e1+1) // first point > e_j
	if lo >= hi {
		return g
	}
	// Trough over every point of (e_{j-1}, e_j]; first occurrence wins.
	troughP, trough := -1, math.Inf(1)
	for p := lo; p < hi; p++ {
		v := d.at(p, k)
		if math.IsNaN(v) {
			return g // the minimum over S is not known
		}
		if v < trough {
			troughP, trough = p, v
		}
	}
	g.timeToTrough = float64(d.times[troughP] - e0)

	a := nan
	if p := d.point(e0); p >= 0 {
		a = d.at(p, k)
	}
	if !math.IsNaN(a) {
		g.depth = a - trough
		area, prev := 0.0, e0
		for p := lo; p < hi; p++ {
			area += math.Max(0, a-d.at(p, k)) * float64(d.times[p]-prev)
			prev = d.times[p]
		}
		g.area = area / float64(e1-e0)
	}

	end := nan // A_k(e_j)
	if d.times[hi-1] == e1 {
		end = d.at(hi-1, k)
	}
	if math.IsNaN(end) {
		return g
	}
	if !math.IsNaN(a) {
		if a > trough {
			g.recovery = (end - trough) / (a - trough)
		} else {
			g.recovery = 1
		}
	}
	thr := trough + 0.9*(end-trough)
	for p := troughP; p < hi; p++ {
		// s = e_j qualifies mathematically; do not let rounding say no.
		if d.at(p, k) >= thr || d.times[p] == e1 {
			g.r90 = float64(d.times[p] - e0)
			break
		}
	}
	return g
}

// matrixValues are the accuracy-matrix metrics; NaN when undefined.
type matrixValues struct {
	acc, accSW, avgInc, forgetFirst, forgetMax, bwt, fwt float64
}

// matrixMetrics computes the metrics over R. Each is NaN as soon as one
// entry it needs is missing (NaN propagates through the sums).
func (d *data) matrixMetrics() matrixValues {
	T := d.numExp
	nan := math.NaN()
	v := matrixValues{nan, nan, nan, nan, nan, nan, nan}

	// ACC and ACC_sw: row T.
	sum, correct, total := 0.0, 0, 0
	for j := 1; j <= T; j++ {
		sum += d.rAt(T, j)
		correct += d.rowCorrect[T*T+j-1]
		total += d.rowTotal[T*T+j-1]
	}
	v.acc = sum / float64(T)
	if !math.IsNaN(v.acc) {
		v.accSW = float64(correct) / float64(total)
	}

	// Average incremental accuracy.
	sum = 0
	for i := 1; i <= T; i++ {
		row := 0.0
		for j := 1; j <= i; j++ {
			row += d.rAt(i, j)
		}
		sum += row / float64(i)
	}
	v.avgInc = sum / float64(T)

	if T == 1 {
		return v // forgetting, BWT and FWT need two experiences
	}
	var first, maxF, bwt, fwt float64
	for j := 1; j < T; j++ {
		final := d.rAt(T, j)
		first += d.rAt(j, j) - final
		bwt += final - d.rAt(j, j)
		best := d.rAt(j, j)
		for i := j + 1; i < T; i++ {
			if r := d.rAt(i, j); r > best || math.IsNaN(r) {
				best = r
			}
		}
		maxF += best - final
	}
	for j := 2; j <= T; j++ {
		fwt += d.rAt(j-1, j) - d.rAt(0, j)
	}
	n := float64(T - 1)
	v.forgetFirst, v.forgetMax, v.bwt, v.fwt = first/n, maxF/n, bwt/n, fwt/n
	return v
}
