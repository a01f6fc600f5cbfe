//go:build !openblas

package gemm

// Backend names the implementation behind Context.Sgemm in this build.
const Backend = "native"

func (c *Context) sgemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, cc []float32, ldc int) {
	c.e.sgemm(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, cc, ldc)
}

// BackendDetail describes the backend, here the micro-kernel family.
func BackendDetail() string { return "native " + availableKernels()[0].name }
