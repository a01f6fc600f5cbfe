//go:build !unix

package gemm

// processCPU is not measured here: BenchmarkSgemm reports no cpuGFLOPS.
func processCPU() float64 { return 0 }
