//go:build openblas

package openblas

/*
#cgo LDFLAGS: -lopenblas
void openblas_set_num_threads(int);
int openblas_get_num_threads(void);
char* openblas_get_corename(void);
*/
import "C"

import (
	"sync"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/netlib/blas/netlib"
)

var (
	// OpenBLAS's thread count is process-wide: calls are serialized so
	// that each runs with the thread count it asks for.
	mu      sync.Mutex
	current int
)

// Sgemm computes C = alpha*op(A)*op(B) + beta*C (row-major) with OpenBLAS
// running threads threads.
func Sgemm(threads int, transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	tA, tB := blas.NoTrans, blas.NoTrans
	if transA {
		tA = blas.Trans
	}
	if transB {
		tB = blas.Trans
	}
	mu.Lock()
	defer mu.Unlock()
	if current != threads {
		C.openblas_set_num_threads(C.int(threads))
		current = threads
	}
	netlib.Implementation{}.Sgemm(tA, tB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

// CoreName returns the CPU kernel family OpenBLAS selected (for reports).
func CoreName() string { return C.GoString(C.openblas_get_corename()) }
