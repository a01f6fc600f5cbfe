package nn

import (
	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas32"
)

// Engine computes matrix products: C = alpha*op(A)*op(B) + beta*C, row-major,
// with op(A) m×k and op(B) k×n; transA means A is stored k×m, transB that B
// is stored n×k. An Engine must give results that do not depend on how many
// threads it uses.
type Engine interface {
	Sgemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int)
}

// GonumEngine routes products to gonum's pure-Go BLAS (single-threaded per
// call, so deterministic). It is the simple reference engine.
type GonumEngine struct{}

// Sgemm implements Engine.
func (GonumEngine) Sgemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	if m == 0 || n == 0 {
		return
	}
	ta, tb := blas.NoTrans, blas.NoTrans
	if transA {
		ta = blas.Trans
	}
	if transB {
		tb = blas.Trans
	}
	blas32.Implementation().Sgemm(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}
