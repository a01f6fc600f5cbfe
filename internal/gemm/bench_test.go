package gemm

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// benchShapes are the products of a 784-400-400-10 MLP: forward X·W,
// weight gradients Xᵀ·dY (tA) and data gradients dY·Wᵀ (tB). m×k×n means
// C[m×n] = op(A)[m×k]·op(B)[k×n].
var benchShapes = []struct {
	tA, tB  bool
	m, k, n int
}{
	{m: 256, k: 784, n: 400},
	{m: 512, k: 784, n: 400},
	{m: 1000, k: 784, n: 400},
	{m: 5000, k: 784, n: 400},
	{m: 512, k: 400, n: 400},
	{m: 5000, k: 400, n: 400},
	{m: 5000, k: 400, n: 10},
	{m: 512, k: 400, n: 10},
	{tA: true, m: 784, k: 512, n: 400},
	{tA: true, m: 400, k: 512, n: 400},
	{tA: true, m: 400, k: 512, n: 10},
	{tB: true, m: 512, k: 400, n: 784},
	{tB: true, m: 512, k: 10, n: 400},
	{tB: true, m: 512, k: 400, n: 400},
}

func layout(tA, tB bool) string {
	switch {
	case tA && tB:
		return "TT"
	case tA:
		return "TN"
	case tB:
		return "NT"
	}
	return "NN"
}

// BenchmarkSgemm measures every MLP shape with 1 and 2 threads. The same
// file runs against OpenBLAS with -tags openblas (see compare.sh). With
// one thread it also reports GFLOPS per CPU second of the process.
func BenchmarkSgemm(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 1))
	for _, s := range benchShapes {
		a := make([]float32, s.m*s.k)
		bb := make([]float32, s.k*s.n)
		c := make([]float32, s.m*s.n)
		for i := range a {
			a[i] = rng.Float32() - 0.5
		}
		for i := range bb {
			bb[i] = rng.Float32() - 0.5
		}
		lda, ldb := s.k, s.n
		if s.tA {
			lda = s.m
		}
		if s.tB {
			ldb = s.k
		}
		for _, th := range []int{1, 2} {
			name := fmt.Sprintf("%s_%dx%dx%d/t%d", layout(s.tA, s.tB), s.m, s.k, s.n, th)
			b.Run(name, func(b *testing.B) {
				ctx := NewContext(th)
				defer ctx.Close()
				ctx.Sgemm(s.tA, s.tB, s.m, s.n, s.k, 1, a, lda, bb, ldb, 0, c, s.n)
				b.ReportAllocs()
				cpu0 := processCPU()
				for b.Loop() {
					ctx.Sgemm(s.tA, s.tB, s.m, s.n, s.k, 1, a, lda, bb, ldb, 0, c, s.n)
				}
				cpu := processCPU() - cpu0
				flops := 2 * float64(s.m) * float64(s.n) * float64(s.k)
				b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOPS")
				if th == 1 && cpu > 0 {
					// Per CPU second: less disturbed than wall time by
					// other processes on a shared machine (one thread
					// only: idle workers of either library may spin).
					b.ReportMetric(flops*float64(b.N)/cpu/1e9, "cpuGFLOPS")
				}
			})
		}
	}
}
