// Package distill holds what the distilling strategies (LwF, Dual-Arch)
// share: the tempered softmax of a teacher's and a student's logits.
package distill

import "math"

// Tempered writes softmax(z/T) over the classes marked in set into p (0
// for the others), in float64 with the maximum subtracted first. When no
// class is marked p is all 0.
func Tempered(z []float32, set []bool, T float64, p []float64) {
	best := math.Inf(-1)
	for c, v := range z {
		if set[c] {
			best = max(best, float64(v)/T)
		}
	}
	sum := 0.0
	for c, v := range z {
		p[c] = 0
		if set[c] {
			p[c] = math.Exp(float64(v)/T - best)
			sum += p[c]
		}
	}
	if sum == 0 {
		return
	}
	for c := range p {
		p[c] /= sum
	}
}
