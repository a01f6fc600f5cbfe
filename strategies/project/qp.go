package project

import (
	"math"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas64"
	"gonum.org/v1/gonum/lapack/lapack64"
)

// NNQP solves small strictly or weakly convex quadratic programs over the
// non-negative orthant,
//
//	minimise ½·uᵀHu + cᵀu  subject to u ≥ 0,
//
// with H symmetric positive (semi-)definite, by the active-set method of
// Lawson and Hanson (NNLS) written on the Gram matrix H instead of a
// least-squares factor (as Bro and De Jong's FNNLS). Each subproblem on the
// set P of free variables solves H_PP·z = −c_P by a Cholesky factorisation
// (gonum's LAPACK). The result satisfies the KKT conditions: u ≥ 0,
// μ = Hu + c ≥ 0 and u_j·μ_j = 0, within the tolerance. Solve allocates
// nothing once the NNQP has solved a problem of the same size.
type NNQP struct {
	n       int
	free    []bool
	skip    []bool
	w, z, s []float64
	idx     []int
	hpp     []float64
	rhs     []float64
}

func (q *NNQP) resize(n int) {
	if q.n == n {
		return
	}
	q.n = n
	q.free = make([]bool, n)
	q.skip = make([]bool, n)
	q.w = make([]float64, n)
	q.z = make([]float64, n)
	q.s = make([]float64, n)
	q.idx = make([]int, 0, n)
	q.hpp = make([]float64, n*n)
	q.rhs = make([]float64, n)
}

// Solve writes the solution into u (length n) for the n×n row-major H and
// c, and returns the number of outer iterations. H is not modified.
func (q *NNQP) Solve(H []float64, c []float64, n int, u []float64) int {
	q.resize(n)
	if len(H) < n*n || len(c) < n || len(u) < n {
		panic("project: NNQP: short arguments")
	}
	scale := 0.0
	for i := range n {
		scale = max(scale, math.Abs(H[i*n+i]), math.Abs(c[i]))
	}
	if scale == 0 {
		clear(u[:n])
		return 0
	}
	tol := 1e-12 * scale * float64(n)
	clear(u[:n])
	clear(q.free)
	clear(q.skip)
	maxIter := 10*n + 50
	iter := 0
	for ; iter < maxIter; iter++ {
		// w = −(Hu + c), the negative gradient.
		q.gradient(H, c, n, u)
		best, j := tol, -1
		for i := range n {
			if !q.free[i] && !q.skip[i] && q.w[i] > best {
				best, j = q.w[i], i
			}
		}
		if j < 0 {
			break
		}
		q.free[j] = true
		for inner := 0; inner < 3*n+3; inner++ {
			q.subproblem(H, c, n)
			if inner == 0 && q.z[j] <= tol*1e-3 {
				// Rounding: the variable that should enter does not
				// move. Leave it out until u changes.
				q.free[j] = false
				q.skip[j] = true
				break
			}
			// All free z positive: accept.
			ok := true
			for i := range n {
				if q.free[i] && q.z[i] <= tol*1e-3 {
					ok = false
					break
				}
			}
			if ok {
				clear(q.skip)
				for i := range n {
					if q.free[i] {
						u[i] = q.z[i]
					} else {
						u[i] = 0
					}
				}
				break
			}
			// Step from u towards z as far as feasibility allows.
			alpha := math.Inf(1)
			for i := range n {
				if q.free[i] && q.z[i] <= tol*1e-3 {
					if d := u[i] - q.z[i]; d > 0 {
						alpha = min(alpha, u[i]/d)
					} else {
						alpha = 0
					}
				}
			}
			if math.IsInf(alpha, 1) {
				alpha = 0
			}
			for i := range n {
				if q.free[i] {
					u[i] += alpha * (q.z[i] - u[i])
				}
			}
			moved := false
			for i := range n {
				if q.free[i] && u[i] <= tol*1e-3 {
					q.free[i] = false
					u[i] = 0
					moved = true
				}
			}
			if !moved {
				// Numerically stuck: drop the smallest free variable.
				k, v := -1, math.Inf(1)
				for i := range n {
					if q.free[i] && q.z[i] < v {
						k, v = i, q.z[i]
					}
				}
				if k < 0 {
					break
				}
				q.free[k] = false
				u[k] = 0
			}
		}
	}
	return iter
}

func (q *NNQP) gradient(H, c []float64, n int, u []float64) {
	for i := range n {
		s := c[i]
		row := H[i*n : (i+1)*n]
		for j, v := range row {
			s += v * u[j]
		}
		q.w[i] = -s
	}
}

// subproblem solves H_PP·z_P = −c_P for the free set P; z is 0 elsewhere.
// A singular H_PP (linearly dependent constraints with no ridge) gets a
// tiny ridge, relative to its diagonal.
func (q *NNQP) subproblem(H, c []float64, n int) {
	q.idx = q.idx[:0]
	for i := range n {
		q.z[i] = 0
		if q.free[i] {
			q.idx = append(q.idx, i)
		}
	}
	p := len(q.idx)
	if p == 0 {
		return
	}
	for ridge := 0.0; ; {
		diag := 0.0
		for a, i := range q.idx {
			for b, j := range q.idx {
				q.hpp[a*p+b] = H[i*n+j]
			}
			q.hpp[a*p+a] += ridge
			diag = max(diag, H[i*n+i])
			q.rhs[a] = -c[i]
		}
		sym := blas64.Symmetric{Uplo: blas.Upper, N: p, Stride: p, Data: q.hpp[:p*p]}
		if tri, ok := lapack64.Potrf(sym); ok {
			lapack64.Potrs(tri, blas64.General{Rows: p, Cols: 1, Stride: 1, Data: q.rhs[:p]})
			for a, i := range q.idx {
				q.z[i] = q.rhs[a]
			}
			return
		}
		if ridge == 0 {
			ridge = 1e-12 * max(diag, 1e-300)
		} else {
			ridge *= 100
		}
	}
}
