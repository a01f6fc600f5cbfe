package metrics

import (
	"fmt"
	"math"
	"sort"
)

// Point is one value of a per-evaluation-point series.
type Point struct {
	// T is the iteration of the evaluation point.
	T int
	// Value is the series value; 0 when Null.
	Value float64
	// Null reports that the value is undefined at T (e.g. min-ACC while the
	// first experience is trained).
	Null bool
}

// toPoints converts an internal series (NaN = undefined) to Points.
func (d *data) toPoints(vals []float64) []Point {
	out := make([]Point, len(vals))
	for p, v := range vals {
		out[p].T = d.times[p]
		if math.IsNaN(v) {
			out[p].Null = true
		} else {
			out[p].Value = v
		}
	}
	return out
}

// seriesOf validates in, runs fill over every evaluation point and returns
// the result as Points. Series ignore Status Interrupted so that partial runs
// can be plotted.
func seriesOf(in Input, fill func(d *data, last int, dst []float64)) ([]Point, error) {
	d, err := prepare(in)
	if err != nil {
		return nil, err
	}
	vals := make([]float64, len(d.times))
	fill(d, len(d.times)-1, vals)
	return d.toPoints(vals), nil
}

// AccSeries returns A_k(t) at every evaluation point that has a record for
// experience k, seen or not (so it includes the evaluation at e_{k-1} before
// k is trained). k is 1-based.
func AccSeries(in Input, k int) ([]Point, error) {
	if k < 1 || k > in.NumExperiences {
		return nil, fmt.Errorf("metrics: experience %d, want 1..%d", k, in.NumExperiences)
	}
	d, err := prepare(in)
	if err != nil {
		return nil, err
	}
	var out []Point
	for p, t := range d.times {
		if v := d.at(p, k); !math.IsNaN(v) {
			out = append(out, Point{T: t, Value: v})
		}
	}
	return out, nil
}

// MinACCSeries returns min-ACC(t) at every evaluation point: the mean over
// k < c(t) of the minimum of A_k over the points in (e_k, t]. It is Null
// while c(t) = 1.
func MinACCSeries(in Input) ([]Point, error) {
	return seriesOf(in, func(d *data, last int, dst []float64) {
		d.minACCSweep(last, dst, nil, nil)
	})
}

// WCACCSeries returns WC-ACC(t) = (1/c) A_c(t) + (1 - 1/c) min-ACC(t) with
// c = c(t), at every evaluation point (A_1(t) while c = 1).
func WCACCSeries(in Input) ([]Point, error) {
	return seriesOf(in, func(d *data, last int, dst []float64) {
		d.minACCSweep(last, nil, dst, nil)
	})
}

// WFSeries returns the windowed forgetting WF^w(t) at every evaluation
// point; w >= 1 is the window length in evaluations.
func WFSeries(in Input, w int) ([]Point, error) {
	if w < 1 {
		return nil, fmt.Errorf("metrics: window %d, want >= 1", w)
	}
	return seriesOf(in, func(d *data, last int, dst []float64) {
		d.windowSweep(w, false, last, dst)
	})
}

// WPSeries returns the windowed plasticity WP^w(t) at every evaluation
// point; w >= 1 is the window length in evaluations.
func WPSeries(in Input, w int) ([]Point, error) {
	if w < 1 {
		return nil, fmt.Errorf("metrics: window %d, want >= 1", w)
	}
	return seriesOf(in, func(d *data, last int, dst []float64) {
		d.windowSweep(w, true, last, dst)
	})
}

// AccSeenSeries returns Acc_seen(t), the sample-weighted accuracy over the
// union of the seen experiences' subsets (sum Correct / sum Total), at every
// evaluation point. It is the quantity AAA averages.
func AccSeenSeries(in Input) ([]Point, error) {
	return seriesOf(in, func(d *data, last int, dst []float64) {
		for p := 0; p <= last; p++ {
			dst[p] = d.accSeen(p)
		}
	})
}

// AvgAccSeries returns the task mean of A_k(t) over the seen experiences
// k <= c(t) that have a record at t, at every evaluation point.
func AvgAccSeries(in Input) ([]Point, error) {
	return seriesOf(in, func(d *data, last int, dst []float64) {
		for p := 0; p <= last; p++ {
			sum, n := 0.0, 0
			for k := 1; k <= d.cur[p]; k++ {
				if v := d.at(p, k); !math.IsNaN(v) {
					sum += v
					n++
				}
			}
			dst[p] = mean(sum, n)
		}
	})
}

// AAASeries returns the running average anytime accuracy: at point t, the
// plain mean of Acc_seen over the evaluation points up to t.
func AAASeries(in Input) ([]Point, error) {
	return seriesOf(in, func(d *data, last int, dst []float64) {
		d.aaaSweep(last, dst, nil)
	})
}

// AAAIterSeries returns the iteration-weighted running AAA: point m weighs
// t_m - t_{m-1}, with t_{-1} = -1.
func AAAIterSeries(in Input) ([]Point, error) {
	return seriesOf(in, func(d *data, last int, dst []float64) {
		d.aaaSweep(last, nil, dst)
	})
}

// mean returns sum/n, or NaN when n is 0.
func mean(sum float64, n int) float64 {
	if n == 0 {
		return math.NaN()
	}
	return sum / float64(n)
}

// accSeen returns Acc_seen at point p, NaN when p has no seen record.
func (d *data) accSeen(p int) float64 {
	if d.seenTotal[p] == 0 {
		return math.NaN()
	}
	return float64(d.seenCorrect[p]) / float64(d.seenTotal[p])
}

// minACCSweep walks the points 0..last. It writes min-ACC(t) into minDst
// and WC-ACC(t) into wcDst (each may be nil) and, when perK is not nil, the
// per-experience min-ACC_k at point last into perK[k-1] for k = 1..T-1.
// Undefined values are NaN.
func (d *data) minACCSweep(last int, minDst, wcDst, perK []float64) {
	T := d.numExp
	// runMin[k] = min of A_k over the points of (e_k, t] seen so far; +Inf
	// before the first such point; bad[k] once one of them lacks A_k.
	runMin := make([]float64, T+1)
	bad := make([]bool, T+1)
	for k := range runMin {
		runMin[k] = math.Inf(1)
	}
	value := func(k int) float64 {
		if bad[k] || math.IsInf(runMin[k], 1) {
			return math.NaN()
		}
		return runMin[k]
	}
	for p := 0; p <= last; p++ {
		t, c := d.times[p], d.cur[p]
		// Every point of (e_k, ...) has c > k, so visiting k < c at each
		// point covers exactly the points min-ACC_k needs.
		for k := 1; k < c; k++ {
			if t <= d.ends[k] {
				continue // cannot happen after validation
			}
			if v := d.at(p, k); math.IsNaN(v) {
				bad[k] = true
			} else if v < runMin[k] {
				runMin[k] = v
			}
		}
		minACC := math.NaN()
		if c > 1 {
			sum := 0.0
			for k := 1; k < c; k++ {
				sum += value(k)
			}
			minACC = sum / float64(c-1) // NaN if any term is
		}
		if minDst != nil {
			minDst[p] = minACC
		}
		if wcDst != nil {
			ac := d.at(p, c)
			if c == 1 {
				wcDst[p] = ac
			} else {
				fc := float64(c)
				wcDst[p] = ac/fc + (1-1/fc)*minACC
			}
		}
	}
	if perK != nil {
		for k := 1; k < T; k++ {
			perK[k-1] = math.NaN()
			if last >= 0 && k < d.cur[last] {
				perK[k-1] = value(k)
			}
		}
	}
}

// dequeMax is a monotonic deque over a sliding window of at most w values
// indexed 0, 1, 2, ...: its front is the largest value of the window.
type dequeMax struct {
	idx  []int
	val  []float64
	head int // ring position of the front
	n    int // number of entries
}

func newDequeMax(w int) dequeMax {
	return dequeMax{idx: make([]int, w), val: make([]float64, w)}
}

// push evicts entries with index <= i-w, returns the largest value among the
// previous w-1 values (ok false when there is none), then adds value x with
// index i.
func (q *dequeMax) push(i int, x float64, w int) (prevMax float64, ok bool) {
	for q.n > 0 && q.idx[q.head] <= i-w {
		q.head = (q.head + 1) % w
		q.n--
	}
	if q.n > 0 {
		prevMax, ok = q.val[q.head], true
	}
	for q.n > 0 && q.val[(q.head+q.n-1)%w] <= x {
		q.n--
	}
	// After eviction at most w-1 entries remain, so x fits.
	pos := (q.head + q.n) % w
	q.idx[pos], q.val[pos] = i, x
	q.n++
	return prevMax, ok
}

// windowSweep writes WF^w(t) (rise false) or WP^w(t) (rise true) for the
// points 0..last into dst (which may be nil) and returns the value at last
// (NaN when undefined).
//
// WF^w_k(t) = max over s <= t of F_k(s), and F_k(s) is the largest drop over
// pairs in the window at s; each pair i < j with j - i < w lies in the window
// of the evaluation that brought j, so WF^w_k is the largest drop over such
// pairs: the running max of (max of the w-1 previous values) - A_k(j). WP is
// the same on -A_k (negation is exact).
func (d *data) windowSweep(w int, rise bool, last int, dst []float64) float64 {
	T := d.numExp
	sign := 1.0
	if rise {
		sign = -1
	}
	qs := make([]dequeMax, T+1)
	count := make([]int, T+1) // seen evaluations of k so far
	best := make([]float64, T+1)
	out := math.NaN()
	for p := 0; p <= last; p++ {
		for k := 1; k <= d.cur[p]; k++ {
			v := d.at(p, k)
			if math.IsNaN(v) {
				continue
			}
			if count[k] == 0 {
				qs[k] = newDequeMax(w)
			}
			x := sign * v
			if prev, ok := qs[k].push(count[k], x, w); ok && prev-x > best[k] {
				best[k] = prev - x
			}
			count[k]++
		}
		sum, n := 0.0, 0
		for k := 1; k <= T; k++ {
			if count[k] > 0 {
				sum += best[k]
				n++
			}
		}
		out = mean(sum, n)
		if dst != nil {
			dst[p] = out
		}
	}
	return out
}

// aaaSweep writes the running plain AAA into plain and the running
// iteration-weighted AAA into iter (each may be nil) for the points 0..last,
// and returns both at last (NaN when undefined).
func (d *data) aaaSweep(last int, plain, iter []float64) (aaa, aaaIter float64) {
	sum, n := 0.0, 0
	wsum, wtot := 0.0, 0
	prevT := -1
	aaa, aaaIter = math.NaN(), math.NaN()
	for p := 0; p <= last; p++ {
		if a := d.accSeen(p); !math.IsNaN(a) {
			sum += a
			n++
			w := d.times[p] - prevT
			wsum += a * float64(w)
			wtot += w
			prevT = d.times[p]
			aaa = sum / float64(n)
			aaaIter = wsum / float64(wtot)
		}
		if plain != nil {
			plain[p] = aaa
		}
		if iter != nil {
			iter[p] = aaaIter
		}
	}
	return aaa, aaaIter
}

// lca returns LCA^b over the points 0..last (NaN when no experience has b
// points).
func (d *data) lca(b, last int) float64 {
	sum, n := 0.0, 0
	for k := 1; k <= d.numExp && k-1 <= d.m; k++ {
		s, c := 0.0, 0
		for p := sort.SearchInts(d.times[:last+1], d.ends[k-1]); p <= last && c < b; p++ {
			if v := d.at(p, k); !math.IsNaN(v) {
				s += v
				c++
			}
		}
		if c == b {
			sum += s / float64(b)
			n++
		}
	}
	return mean(sum, n)
}
