package gemm

import "testing"

func BenchmarkPackNT(b *testing.B) {
	ks := availableKernels()[0]
	const n, k = 784, 400
	src := make([]float32, n*k)
	dst := make([]float32, k*n)
	for b.Loop() {
		for jp := 0; jp < n/nr; jp++ {
			packB(&ks, dst[jp*k*nr:], true, src, k, n, 0, k, jp*nr)
		}
	}
	b.ReportMetric(float64(n*k)*float64(b.N)/b.Elapsed().Seconds()/1e9, "Gelem/s")
}

func BenchmarkPackA(b *testing.B) {
	ks := availableKernels()[0]
	const m, k = 512, 400
	for _, tA := range []bool{false, true} {
		b.Run(map[bool]string{false: "N", true: "T"}[tA], func(b *testing.B) {
			src := make([]float32, m*k)
			dst := make([]float32, 30*k)
			for b.Loop() {
				for i := 0; i+30 <= m; i += 30 {
					ld := k
					if tA {
						ld = m
					}
					packA(&ks, dst, tA, src, ld, i, 30, 0, k, 30)
				}
			}
			b.ReportMetric(float64(m/30*30*k)*float64(b.N)/b.Elapsed().Seconds()/1e9, "Gelem/s")
		})
	}
}
