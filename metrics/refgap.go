package metrics

import "math"

// Gap measures relative to a reference model (Harun & Kanan's stability,
// plasticity and continual-knowledge gaps). They are not stored with a
// run: they need a second run, the reference, and are computed by the
// report (cleval report --reference).
const (
	NameRefStabilityGap  = "ref_stability_gap"
	NameRefPlasticityGap = "ref_plasticity_gap"
	NameRefCKGap         = "ref_ck_gap"
)

// RefGapNames lists the reference gap measures in output order.
var RefGapNames = []string{NameRefStabilityGap, NameRefPlasticityGap, NameRefCKGap}

// RefGaps are one run's gap measures relative to a reference run.
type RefGaps struct {
	// Stability, Plasticity and CK are 1 − the mean over the evaluation
	// points of the learner's accuracy divided by the reference's on the
	// old, the new and all seen experiences; NaN when no point counts.
	Stability, Plasticity, CK float64
	// Points is the number of evaluation points averaged.
	Points int
}

// ReferenceGaps computes the gap measures of a learner relative to a
// reference model, the per-experience offline model (joint) or another
// upper bound, from the learner's evaluation records (one variant) and the
// reference run's accuracy matrix (its live variant) on a stream of T
// experiences.
//
// At each evaluation point t of the learner while it trains experience
// c ≥ 2 (t in (e_{c−1}, e_c]), its accuracy on the old experiences
// (k < c), the new one (k = c) and all seen ones (k ≤ c) is pooled over
// their evaluated samples (Σ correct / Σ total) and divided by the
// reference's pooled accuracy on the same experiences after it trained
// experience c (row c of its accuracy matrix, the full test sets):
//
//	stability gap  = 1 − mean_t acc_old(t)/ref_old(c)
//	plasticity gap = 1 − mean_t acc_new(t)/ref_new(c)
//	CK gap         = 1 − mean_t acc_all(t)/ref_all(c)
//
// Points where a reference accuracy is 0 or missing are left out of that
// mean. Experience 1 has no old experiences and is the base training of
// methods such as SGM, so it is left out of all three.
func ReferenceGaps(evals []EvalRecord, ref []MatrixRecord, T int) RefGaps {
	type pool struct{ correct, total int }
	// refAcc[c][0..2]: the reference's pooled old, new and all accuracy
	// at row c.
	refPool := make([][3]pool, T+1)
	for _, r := range ref {
		if r.Row < 2 || r.Row > T || r.Col < 1 || r.Col > r.Row {
			continue
		}
		p := &refPool[r.Row]
		if r.Col < r.Row {
			p[0].correct += r.Correct
			p[0].total += r.Total
		} else {
			p[1].correct += r.Correct
			p[1].total += r.Total
		}
		p[2].correct += r.Correct
		p[2].total += r.Total
	}
	acc := func(p pool) float64 {
		if p.total == 0 {
			return math.NaN()
		}
		return float64(p.correct) / float64(p.total)
	}
	type point struct {
		t, c int
		p    [3]pool
	}
	var pts []point
	at := map[[2]int]int{}
	for _, e := range evals {
		c := e.Training
		if c < 2 || c > T || e.Evaluated < 1 || e.Evaluated > c {
			continue
		}
		key := [2]int{e.Iteration, c}
		i, ok := at[key]
		if !ok {
			i = len(pts)
			at[key] = i
			pts = append(pts, point{t: e.Iteration, c: c})
		}
		p := &pts[i].p
		if e.Evaluated < c {
			p[0].correct += e.Correct
			p[0].total += e.Total
		} else {
			p[1].correct += e.Correct
			p[1].total += e.Total
		}
		p[2].correct += e.Correct
		p[2].total += e.Total
	}
	var sum [3]float64
	var n [3]int
	for _, pt := range pts {
		for m := range 3 {
			r := acc(refPool[pt.c][m])
			a := acc(pt.p[m])
			if math.IsNaN(r) || r == 0 || math.IsNaN(a) {
				continue
			}
			sum[m] += a / r
			n[m]++
		}
	}
	gap := func(m int) float64 {
		if n[m] == 0 {
			return math.NaN()
		}
		return 1 - sum[m]/float64(n[m])
	}
	return RefGaps{Stability: gap(0), Plasticity: gap(1), CK: gap(2), Points: len(pts)}
}
