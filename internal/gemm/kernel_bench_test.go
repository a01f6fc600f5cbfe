package gemm

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// BenchmarkMicroKernel measures each family's largest kernel alone on a
// packed A panel and B panel that stay in L1 (k = 128): the kernel's
// ceiling, against which the GEMM shapes can be judged.
func BenchmarkMicroKernel(b *testing.B) {
	rng := rand.New(rand.NewPCG(5, 5))
	for _, ks := range availableKernels() {
		const k = 128
		r := ks.mr
		a := randSlice(rng, k*r)
		bp := randSlice(rng, k*nr)
		c := make([]float32, r*nr)
		b.Run(fmt.Sprintf("%s_%dx16_k%d", ks.name, r, k), func(b *testing.B) {
			for b.Loop() {
				for range 16 {
					ks.fns[r](k, &a[0], r, &bp[0], nr, &c[0], nr, 1, 1, nr)
				}
			}
			flops := 2 * float64(r*nr*k) * 16
			b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOPS")
		})
	}
}
