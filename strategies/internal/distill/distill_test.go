package distill

import (
	"math"
	"testing"
)

// TestTempered against softmax(z/T) written out by hand over the marked
// classes, and all zeros when none is marked.
func TestTempered(t *testing.T) {
	z := []float32{1, 2, -1, 3}
	set := []bool{true, false, true, true}
	const T = 2.0
	e := []float64{math.Exp(0.5), 0, math.Exp(-0.5), math.Exp(1.5)}
	sum := e[0] + e[2] + e[3]
	p := make([]float64, 4)
	Tempered(z, set, T, p)
	for c := range p {
		if math.Abs(p[c]-e[c]/sum) > 1e-15 {
			t.Errorf("p[%d] = %v, want %v", c, p[c], e[c]/sum)
		}
	}
	Tempered(z, make([]bool, 4), T, p)
	for c, v := range p {
		if v != 0 {
			t.Errorf("no class marked: p[%d] = %v", c, v)
		}
	}
}
