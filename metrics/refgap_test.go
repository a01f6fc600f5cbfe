package metrics

import (
	"math"
	"testing"
)

// TestReferenceGapsHandComputed checks the three gaps on a hand-computed
// 3-experience series, with records that must be left out (experience 1,
// a not-yet-seen experience, the reference's row 1).
func TestReferenceGapsHandComputed(t *testing.T) {
	ref := []MatrixRecord{
		{Row: 1, Col: 1, Correct: 99, Total: 100},
		{Row: 2, Col: 1, Correct: 90, Total: 100}, {Row: 2, Col: 2, Correct: 80, Total: 100}, {Row: 2, Col: 3, Correct: 5, Total: 100},
		{Row: 3, Col: 1, Correct: 90, Total: 100}, {Row: 3, Col: 2, Correct: 85, Total: 100}, {Row: 3, Col: 3, Correct: 70, Total: 100},
	}
	evals := []EvalRecord{
		{Iteration: 5, Training: 1, Evaluated: 1, Correct: 10, Total: 50},
		{Iteration: 11, Training: 2, Evaluated: 1, Correct: 45, Total: 50},
		{Iteration: 11, Training: 2, Evaluated: 2, Correct: 40, Total: 50},
		{Iteration: 11, Training: 2, Evaluated: 3, Correct: 50, Total: 50}, // not seen yet
		{Iteration: 12, Training: 2, Evaluated: 1, Correct: 30, Total: 50},
		{Iteration: 12, Training: 2, Evaluated: 2, Correct: 20, Total: 50},
		{Iteration: 21, Training: 3, Evaluated: 1, Correct: 50, Total: 50},
		{Iteration: 21, Training: 3, Evaluated: 2, Correct: 25, Total: 50},
		{Iteration: 21, Training: 3, Evaluated: 3, Correct: 35, Total: 50},
	}
	g := ReferenceGaps(evals, ref, 3)
	// old: 0.9/0.9, 0.6/0.9, 0.75/0.875; new: 0.8/0.8, 0.4/0.8, 0.7/0.7;
	// all: 0.85/0.85, 0.5/0.85, (110/150)/(245/300).
	want := RefGaps{
		Stability:  1 - (1+0.6/0.9+0.75/0.875)/3,
		Plasticity: 1 - (1+0.5+1)/3,
		CK:         1 - (1+0.5/0.85+(110.0/150)/(245.0/300))/3,
		Points:     3,
	}
	for _, c := range []struct {
		name      string
		got, want float64
	}{{"stability", g.Stability, want.Stability}, {"plasticity", g.Plasticity, want.Plasticity}, {"ck", g.CK, want.CK}} {
		if math.Abs(c.got-c.want) > 1e-12 {
			t.Errorf("%s gap %v, want %v", c.name, c.got, c.want)
		}
	}
	if g.Points != 3 {
		t.Errorf("%d points, want 3", g.Points)
	}
	// A learner as good as the reference everywhere has no gap.
	same := []EvalRecord{
		{Iteration: 7, Training: 2, Evaluated: 1, Correct: 9, Total: 10},
		{Iteration: 7, Training: 2, Evaluated: 2, Correct: 8, Total: 10},
	}
	if g := ReferenceGaps(same, ref, 3); g.Stability != 0 || g.Plasticity != 0 || g.CK != 0 {
		t.Errorf("learner equal to the reference: %+v", g)
	}
	// No point after experience 1, or a reference without rows: undefined.
	for _, g := range []RefGaps{ReferenceGaps(evals[:1], ref, 3), ReferenceGaps(evals, nil, 3)} {
		if !math.IsNaN(g.Stability) || !math.IsNaN(g.Plasticity) || !math.IsNaN(g.CK) {
			t.Errorf("undefined gaps: %+v", g)
		}
	}
}
