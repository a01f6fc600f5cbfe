//go:build openblas

package gemm

import "github.com/cleval/cleval/internal/gemm/internal/openblas"

// Backend names the implementation behind Context.Sgemm in this build.
const Backend = "openblas"

func (c *Context) sgemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, cc []float32, ldc int) {
	if m == 0 || n == 0 {
		return
	}
	if alpha == 0 || k == 0 {
		// The netlib bindings reject empty A or B; the result is beta*C.
		scaleC(m, n, beta, cc, ldc)
		return
	}
	openblas.Sgemm(c.threads, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, cc, ldc)
}

// BackendDetail describes the backend, here OpenBLAS's kernel family.
func BackendDetail() string { return "openblas " + openblas.CoreName() }
