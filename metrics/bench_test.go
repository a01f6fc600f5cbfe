package metrics

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// benchInput is a complete run with T experiences of n updates each,
// evaluated at every iteration on subsets of 1000 samples.
func benchInput(T, n int) Input {
	r := rand.New(rand.NewPCG(5, 6))
	in := Input{NumExperiences: T}
	for k := 1; k <= T; k++ {
		in.Ends = append(in.Ends, k*n)
	}
	for t := 0; t <= T*n; t++ {
		c := max(1, (t+n-1)/n)
		for k := 1; k <= c; k++ {
			in.Evals = append(in.Evals, EvalRecord{Iteration: t, Training: c, Evaluated: k, Variant: VariantLive, Correct: r.IntN(1001), Total: 1000})
		}
		if t == c*n && c < T {
			in.Evals = append(in.Evals, EvalRecord{Iteration: t, Training: c, Evaluated: c + 1, Variant: VariantLive, Correct: r.IntN(1001), Total: 1000})
		}
	}
	for i := 0; i <= T; i++ {
		for j := 1; j <= T; j++ {
			in.Matrix = append(in.Matrix, MatrixRecord{Row: i, Col: j, Variant: VariantLive, Correct: r.IntN(1001), Total: 1000})
		}
	}
	return in
}

func BenchmarkCompute(b *testing.B) {
	for _, size := range []struct{ T, n int }{{5, 100}, {5, 1000}, {10, 1000}, {20, 1000}} {
		in := benchInput(size.T, size.n)
		b.Run(fmt.Sprintf("T=%d/n=%d", size.T, size.n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Compute(in); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(len(in.Evals))*float64(b.N)/b.Elapsed().Seconds(), "records/s")
		})
	}
}
