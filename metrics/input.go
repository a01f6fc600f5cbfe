package metrics

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"
)

// ErrInvalidInput is wrapped by every error that reports malformed records or
// ends; callers can test for it with errors.Is.
var ErrInvalidInput = errors.New("invalid input")

// Status is how the run that produced the records ended. The zero value is
// StatusComplete.
type Status int

const (
	// StatusComplete: every experience was trained; Input.Ends has T
	// entries and final values are taken at e_T.
	StatusComplete Status = iota
	// StatusDiverged: training stopped on a NaN loss. Metrics are computed
	// on what exists, final values are taken at the last evaluation point,
	// and values needing data that was never produced are NULL.
	StatusDiverged
	// StatusInterrupted: the run stopped early (cancelled, crashed). It has
	// no final metrics: Compute returns no values. Series functions still
	// work on the partial records.
	StatusInterrupted
)

// String returns "complete", "diverged" or "interrupted".
func (s Status) String() string {
	switch s {
	case StatusComplete:
		return "complete"
	case StatusDiverged:
		return "diverged"
	case StatusInterrupted:
		return "interrupted"
	}
	return fmt.Sprintf("Status(%d)", int(s))
}

// Input is one model variant's records of one run.
type Input struct {
	// NumExperiences is T, the number of experiences in the stream (>= 1).
	NumExperiences int
	// Ends holds e_1..e_m, the iteration after the last update of each
	// experience that finished, strictly increasing with e_1 >= 1. m == T
	// for a complete run; m <= T otherwise. EndsFromRecords derives it.
	Ends []int
	// Evals are the continual-evaluation records, in any order. Records
	// with Evaluated > Training are used by LCA only.
	Evals []EvalRecord
	// Matrix holds the accuracy-matrix entries R_{Row,Col}, in any order;
	// rows 0..m may be present.
	Matrix []MatrixRecord
	// Status is how the run ended.
	Status Status
}

// EndsFromRecords returns e_1..e_lastComplete: e_k is the largest Iteration
// among the records with Training == k (the harness evaluates at every
// experience end, so that is the end). lastComplete is the number of
// experiences whose training finished (T for a complete run). An experience
// without records gets -1, which Compute rejects. It returns nil when
// lastComplete <= 0.
func EndsFromRecords(evals []EvalRecord, lastComplete int) []int {
	if lastComplete <= 0 {
		return nil
	}
	ends := make([]int, lastComplete)
	for i := range ends {
		ends[i] = -1
	}
	for _, r := range evals {
		if r.Training >= 1 && r.Training <= lastComplete && r.Iteration > ends[r.Training-1] {
			ends[r.Training-1] = r.Iteration
		}
	}
	return ends
}

// data is a validated, indexed Input. Missing accuracies are NaN: a real
// accuracy (Correct/Total with Total > 0) never is.
type data struct {
	numExp int   // T
	m      int   // experiences that ended
	ends   []int // ends[0] = 0, ends[k] = e_k for k = 1..m
	times  []int // evaluation points S, increasing
	cur    []int // c(t) per point
	// acc[p*numExp+k-1] = A_k(times[p]), NaN when there is no record.
	acc []float64
	// Seen Correct and Total summed per point (integers, so order-free).
	seenCorrect, seenTotal []int
	// r[i*numExp+j-1] = R_{i,j}, NaN when missing; i = 0..T.
	r          []float64
	rowCorrect []int // per (i, j), same layout as r
	rowTotal   []int
}

// at returns A_k at point p (NaN when missing).
func (d *data) at(p, k int) float64 { return d.acc[p*d.numExp+k-1] }

// rAt returns R_{i,j} (NaN when missing).
func (d *data) rAt(i, j int) float64 { return d.r[i*d.numExp+j-1] }

// point returns the index of iteration t in S, or -1.
func (d *data) point(t int) int {
	p := sort.SearchInts(d.times, t)
	if p < len(d.times) && d.times[p] == t {
		return p
	}
	return -1
}

func invalid(format string, args ...any) error {
	return fmt.Errorf("metrics: %w: %s", ErrInvalidInput, fmt.Sprintf(format, args...))
}

// prepare validates in and indexes it.
func prepare(in Input) (*data, error) {
	T := in.NumExperiences
	if T < 1 {
		return nil, invalid("NumExperiences = %d, want >= 1", T)
	}
	switch in.Status {
	case StatusComplete, StatusDiverged, StatusInterrupted:
	default:
		return nil, invalid("unknown Status %d", int(in.Status))
	}
	m := len(in.Ends)
	if m > T {
		return nil, invalid("%d ends for %d experiences", m, T)
	}
	if in.Status == StatusComplete && m != T {
		return nil, invalid("complete run has %d ends, want NumExperiences = %d (use StatusDiverged or StatusInterrupted for a run that stopped early)", m, T)
	}
	ends := make([]int, m+1)
	for k, e := range in.Ends {
		if e <= ends[k] {
			if k == 0 {
				return nil, invalid("Ends[0] = %d, want >= 1", e)
			}
			return nil, invalid("Ends[%d] = %d, want > Ends[%d] = %d (ends strictly increasing)", k, e, k-1, ends[k])
		}
		ends[k+1] = e
	}

	variant, haveVariant := "", false
	checkVariant := func(what string, i int, v string) error {
		if !haveVariant {
			variant, haveVariant = v, true
			return nil
		}
		if v != variant {
			return invalid("%s[%d]: Variant %q, other records have %q (pass one variant at a time)", what, i, v, variant)
		}
		return nil
	}

	times := make([]int, 0, len(in.Evals))
	for i, r := range in.Evals {
		if err := checkVariant("Evals", i, r.Variant); err != nil {
			return nil, err
		}
		switch {
		case r.Iteration < 0:
			return nil, invalid("Evals[%d]: Iteration = %d, want >= 0", i, r.Iteration)
		case r.Training < 1 || r.Training > T:
			return nil, invalid("Evals[%d]: Training = %d, want 1..%d", i, r.Training, T)
		case r.Evaluated < 1 || r.Evaluated > T:
			return nil, invalid("Evals[%d]: Evaluated = %d, want 1..%d", i, r.Evaluated, T)
		case r.Total <= 0:
			return nil, invalid("Evals[%d]: Total = %d, want > 0", i, r.Total)
		case r.Correct < 0 || r.Correct > r.Total:
			return nil, invalid("Evals[%d]: Correct = %d, want 0..Total = %d", i, r.Correct, r.Total)
		}
		// Experience c is trained during (e_{c-1}, e_c] (c = 1 also at t = 0).
		c, t := r.Training, r.Iteration
		if c >= 2 {
			if c-1 > m {
				return nil, invalid("Evals[%d]: Training = %d but only %d experiences ended", i, c, m)
			}
			if t <= ends[c-1] {
				return nil, invalid("Evals[%d]: Iteration %d with Training = %d, want > e_%d = %d", i, t, c, c-1, ends[c-1])
			}
		}
		if c <= m && t > ends[c] {
			return nil, invalid("Evals[%d]: Iteration %d with Training = %d, want <= e_%d = %d", i, t, c, c, ends[c])
		}
		times = append(times, t)
	}
	slices.Sort(times)
	times = slices.Compact(times)

	P := len(times)
	d := &data{
		numExp:      T,
		m:           m,
		ends:        ends,
		times:       times,
		cur:         make([]int, P),
		acc:         make([]float64, P*T),
		seenCorrect: make([]int, P),
		seenTotal:   make([]int, P),
		r:           make([]float64, (T+1)*T),
		rowCorrect:  make([]int, (T+1)*T),
		rowTotal:    make([]int, (T+1)*T),
	}
	nan := math.NaN()
	for i := range d.acc {
		d.acc[i] = nan
	}
	for i := range d.r {
		d.r[i] = nan
	}
	for i, r := range in.Evals {
		p := d.point(r.Iteration)
		// The ends check above already pins c(t); this guards the
		// invariant the sweeps rely on.
		switch d.cur[p] {
		case 0:
			d.cur[p] = r.Training
		case r.Training:
		default:
			return nil, invalid("Evals[%d]: Iteration %d with Training = %d, another record at that iteration has Training = %d", i, r.Iteration, r.Training, d.cur[p])
		}
		slot := p*T + r.Evaluated - 1
		if !math.IsNaN(d.acc[slot]) {
			return nil, invalid("Evals[%d]: duplicate record for Iteration %d, Evaluated %d", i, r.Iteration, r.Evaluated)
		}
		d.acc[slot] = r.Accuracy()
		if r.Evaluated <= r.Training {
			d.seenCorrect[p] += r.Correct
			d.seenTotal[p] += r.Total
		}
	}

	for i, r := range in.Matrix {
		if err := checkVariant("Matrix", i, r.Variant); err != nil {
			return nil, err
		}
		switch {
		case r.Row < 0 || r.Row > T:
			return nil, invalid("Matrix[%d]: Row = %d, want 0..%d", i, r.Row, T)
		case r.Row > m:
			return nil, invalid("Matrix[%d]: Row = %d but only %d experiences ended", i, r.Row, m)
		case r.Col < 1 || r.Col > T:
			return nil, invalid("Matrix[%d]: Col = %d, want 1..%d", i, r.Col, T)
		case r.Total <= 0:
			return nil, invalid("Matrix[%d]: Total = %d, want > 0", i, r.Total)
		case r.Correct < 0 || r.Correct > r.Total:
			return nil, invalid("Matrix[%d]: Correct = %d, want 0..Total = %d", i, r.Correct, r.Total)
		}
		slot := r.Row*T + r.Col - 1
		if !math.IsNaN(d.r[slot]) {
			return nil, invalid("Matrix[%d]: duplicate entry R_{%d,%d}", i, r.Row, r.Col)
		}
		d.r[slot] = r.Accuracy()
		d.rowCorrect[slot] = r.Correct
		d.rowTotal[slot] = r.Total
	}
	return d, nil
}

// finalPoint returns the index in S of the point whose series values are
// the final metrics, or -1 when there is none.
func (d *data) finalPoint(s Status) int {
	if s == StatusComplete {
		return d.point(d.ends[d.numExp])
	}
	return len(d.times) - 1
}
