package gemm

import (
	"fmt"
	"runtime"
	"sync"
)

// Context owns the worker threads and packing workspaces of matrix
// products. Create one per run with the run's thread count and Close it at
// the end. A Context is safe for concurrent use; its calls are serialized.
// After the first call of a given size, calls allocate nothing.
type Context struct {
	mu      sync.Mutex
	threads int
	e       *engine
	native  bool // tests: use the native engine even under the openblas tag
	closed  bool
}

// NewContext returns a Context that uses threads threads
// (threads <= 0: runtime.GOMAXPROCS(0)).
func NewContext(threads int) *Context {
	return newContext(threads, availableKernels()[0])
}

func newContext(threads int, ks kernelSet) *Context {
	if threads <= 0 {
		threads = runtime.GOMAXPROCS(0)
	}
	c := &Context{threads: threads, e: newEngine(threads, ks)}
	// Workers hold the engine, not the Context: a forgotten Context still
	// releases its goroutines once it is unreachable.
	runtime.AddCleanup(c, func(e *engine) { e.close() }, c.e)
	return c
}

// Threads returns the number of threads the Context uses.
func (c *Context) Threads() int { return c.threads }

// Close stops the Context's worker goroutines. Sgemm panics on a closed
// Context. Close is idempotent.
func (c *Context) Close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.closed = true
	c.e.close()
}

// Kernel names the micro-kernel family the native implementation uses
// ("avx512", "avx2" or "go").
func (c *Context) Kernel() string { return c.e.ks.name }

// Sgemm computes C = alpha*op(A)*op(B) + beta*C for row-major float32
// matrices, where op(A) is m×k and op(B) is k×n and C is m×n.
// transA means A is stored k×m (op(A) = Aᵀ); transB means B is stored n×k.
// lda, ldb and ldc are the row strides of A, B and C as stored. When
// beta == 0, C is write-only: its previous contents (even NaN) do not
// matter, as in BLAS. When alpha == 0 or k == 0, A and B are not read.
//
// For a given build and CPU, every element of C is computed by the same
// sequence of floating-point operations whatever the Context's thread
// count. Sgemm panics on inconsistent dimensions or short slices.
func (c *Context) Sgemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, cc []float32, ldc int) {
	checkArgs(transA, transB, m, n, k, alpha, a, lda, b, ldb, cc, ldc)
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		panic("gemm: Sgemm on a closed Context")
	}
	if c.native {
		c.e.sgemm(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, cc, ldc)
		return
	}
	c.sgemm(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, cc, ldc)
}

var (
	defaultOnce sync.Once
	defaultCtx  *Context
	// spare holds single-threaded Contexts for package-level calls made
	// while the default Context is busy in another goroutine.
	spare = sync.Pool{New: func() any { return NewContext(1) }}
)

// Sgemm computes C = alpha*op(A)*op(B) + beta*C as Context.Sgemm does,
// with a package-wide Context of runtime.GOMAXPROCS(0) threads. Calls made
// while that Context is busy run single-threaded; for a fixed thread count
// use a Context.
func Sgemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	defaultOnce.Do(func() { defaultCtx = NewContext(0) })
	checkArgs(transA, transB, m, n, k, alpha, a, lda, b, ldb, c, ldc)
	if defaultCtx.mu.TryLock() {
		defer defaultCtx.mu.Unlock()
		defaultCtx.sgemm(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
		return
	}
	// Busy: another goroutine is multiplying with the default Context.
	s := spare.Get().(*Context)
	defer spare.Put(s)
	s.Sgemm(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

// checkArgs panics, as gonum's BLAS does, when dimensions, strides or
// slice lengths are inconsistent.
func checkArgs(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, c []float32, ldc int) {
	if m < 0 || n < 0 || k < 0 {
		panic(fmt.Sprintf("gemm: negative dimension m=%d n=%d k=%d", m, n, k))
	}
	ar, ac := m, k
	if transA {
		ar, ac = k, m
	}
	br, bc := k, n
	if transB {
		br, bc = n, k
	}
	checkMat("a", ar, ac, a, lda)
	checkMat("b", br, bc, b, ldb)
	checkMat("c", m, n, c, ldc)
}

func checkMat(name string, rows, cols int, s []float32, ld int) {
	if ld < max(1, cols) {
		panic(fmt.Sprintf("gemm: ld%s=%d < max(1, %d)", name, ld, cols))
	}
	if rows == 0 || cols == 0 {
		return
	}
	if need := (rows-1)*ld + cols; len(s) < need {
		panic(fmt.Sprintf("gemm: len(%s)=%d < %d for %d×%d with ld%s=%d", name, len(s), need, rows, cols, name, ld))
	}
}
