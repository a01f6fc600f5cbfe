// Package flat holds the few operations on parameter and gradient arenas
// that strategies share. Reductions accumulate in float64, sequentially,
// so results do not depend on anything but the inputs.
package flat

// Dot returns Σ a[i]·b[i], accumulated in float64.
func Dot(a, b []float32) float64 {
	b = b[:len(a)]
	var s float64
	for i, v := range a {
		s += float64(v) * float64(b[i])
	}
	return s
}

// Axpy sets y[i] += alpha·x[i] (float32 arithmetic).
func Axpy(y []float32, alpha float32, x []float32) {
	x = x[:len(y)]
	for i := range y {
		y[i] += alpha * x[i]
	}
}

// Scale sets x[i] *= alpha.
func Scale(x []float32, alpha float32) {
	for i := range x {
		x[i] *= alpha
	}
}
