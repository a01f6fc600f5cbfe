package sparse

import "fmt"

// MulRows computes relu?(bias + A·W) for rows r0..r1-1 of A: row i goes
// to out[(i-r0)*ldo : (i-r0)*ldo+n]. A is m (rows of Cols values), W is
// m.Cols×n row-major with row stride ldw, and bias (n values) may be nil.
// Each output row depends only on its row of A.
func MulRows(out []float32, ldo int, m *CSR, r0, r1 int, w []float32, ldw, n int, bias []float32, relu bool) {
	if n == 0 || r0 >= r1 {
		return
	}
	if ldw < n || ldo < n || (bias != nil && len(bias) < n) || r1 > m.Rows || len(w) < (m.Cols-1)*ldw+n {
		panic(fmt.Sprintf("sparse: MulRows: bad shapes (n %d, ldw %d, ldo %d, rows %d..%d of %d)", n, ldw, ldo, r0, r1, m.Rows))
	}
	if len(out) < (r1-r0-1)*ldo+n {
		panic("sparse: MulRows: short output")
	}
	mulRows(out, ldo, m, r0, r1, w, ldw, n, bias, relu, false)
}

// AccumulateRows adds rows r0..r1-1 of t·D to W: for each such row p,
// W[p, :n] += Σ_q t.Val[q]·D[t.Col[q], :n] over the row's entries in
// order, each W row accumulated in registers. With t = Xᵀ (Transpose) this
// is rows r0..r1-1 of the weight gradient W += Xᵀ·D of a layer with sparse
// input X. Disjoint row ranges may run concurrently.
func AccumulateRows(w []float32, ldw int, t *CSR, r0, r1 int, d []float32, ldd, n int) {
	if n == 0 || r0 >= r1 {
		return
	}
	if ldw < n || ldd < n || r1 > t.Rows || len(w) < (r1-1)*ldw+n || (t.Cols > 0 && len(d) < (t.Cols-1)*ldd+n) {
		panic("sparse: AccumulateRows: bad shapes")
	}
	mulRows(w[r0*ldw:], ldw, t, r0, r1, d, ldd, n, nil, false, true)
}

// mulRowsGo is the portable implementation; the assembly kernels compute
// the vector part of each row, this loop the rest.
func mulRowsGo(out []float32, ldo int, m *CSR, r0, r1 int, w []float32, ldw, c0, n int, bias []float32, relu, acc bool) {
	for i := r0; i < r1; i++ {
		o := out[(i-r0)*ldo+c0 : (i-r0)*ldo+n]
		switch {
		case acc:
		case bias != nil:
			copy(o, bias[c0:n])
		default:
			clear(o)
		}
		for q := m.RowPtr[i]; q < m.RowPtr[i+1]; q++ {
			v := m.Val[q]
			wr := w[int(m.Col[q])*ldw+c0 : int(m.Col[q])*ldw+n]
			for c := range o {
				o[c] += v * wr[c]
			}
		}
		if relu {
			for c, x := range o {
				if x < 0 {
					o[c] = 0
				}
			}
		}
	}
}

// AddOuter accumulates columns c0..c1-1 of W += Aᵀ·D: for every row i of A
// in order and every nonzero a[i, p] in column order,
// W[p, c0:c1] += a[i, p]·D[i, c0:c1]. D has row stride ldd, W row stride
// ldw. Disjoint column ranges may run concurrently.
func AddOuter(w []float32, ldw int, m *CSR, d []float32, ldd, c0, c1 int) {
	if c0 >= c1 {
		return
	}
	if ldw < c1 || ldd < c1 || len(d) < (m.Rows-1)*ldd+c1 || len(w) < (m.Cols-1)*ldw+c1 {
		panic("sparse: AddOuter: bad shapes")
	}
	addOuter(w, ldw, m, d, ldd, c0, c1)
}

func addOuterGo(w []float32, ldw int, m *CSR, d []float32, ldd, c0, c1 int) {
	for i := range m.Rows {
		dr := d[i*ldd+c0 : i*ldd+c1]
		for q := m.RowPtr[i]; q < m.RowPtr[i+1]; q++ {
			v := m.Val[q]
			wr := w[int(m.Col[q])*ldw+c0 : int(m.Col[q])*ldw+c1]
			for c, x := range dr {
				wr[c] += v * x
			}
		}
	}
}
