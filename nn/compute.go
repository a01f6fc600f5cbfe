package nn

import (
	"runtime"

	"github.com/cleval/cleval/internal/gemm"
	"github.com/cleval/cleval/internal/par"
)

// Compute is what models compute with: a pool of worker threads for the
// element-wise passes and the engine of the matrix products. Models built
// on one Compute may share it as long as they are used from one goroutine
// at a time; results never depend on its thread count.
type Compute struct {
	threads int
	pool    *par.Pool
	eng     Engine
	gemm    *gemm.Context
}

// NewCompute returns cleval's own kernels on threads threads (<= 0: every
// core). Close it when done.
func NewCompute(threads int) *Compute {
	if threads <= 0 {
		threads = runtime.GOMAXPROCS(0)
	}
	g := gemm.NewContext(threads)
	c := &Compute{threads: threads, eng: g, gemm: g}
	if threads > 1 {
		c.pool = par.New(threads)
	}
	return c
}

// NewComputeEngine returns a single-threaded Compute whose matrix products
// go to eng (a reference engine in tests, say).
func NewComputeEngine(eng Engine) *Compute { return &Compute{threads: 1, eng: eng} }

// reference is the Compute of models built with a nil Compute: gonum's
// pure-Go BLAS on one thread, the simple reference of the tests.
var reference = NewComputeEngine(GonumEngine{})

// Threads returns the number of threads.
func (c *Compute) Threads() int { return c.threads }

// Kernel names the matrix-product kernel in use, for reports.
func (c *Compute) Kernel() string {
	if c.gemm != nil {
		return c.gemm.Kernel()
	}
	return "reference"
}

// Sgemm computes C = alpha·op(A)·op(B) + beta·C with the Compute's engine
// (see Engine), for strategies that multiply matrices of their own (OWM's
// projectors).
func (c *Compute) Sgemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, cc []float32, ldc int) {
	c.eng.Sgemm(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, cc, ldc)
}

// Close releases the threads. The Compute must not be used afterwards.
func (c *Compute) Close() {
	if c == nil {
		return
	}
	c.pool.Close()
	if c.gemm != nil {
		c.gemm.Close()
	}
}
