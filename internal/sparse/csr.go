package sparse

import "slices"

// CSR is a row-compressed sparse matrix: the nonzeros of row i are
// Val[RowPtr[i]:RowPtr[i+1]] at columns Col[RowPtr[i]:RowPtr[i+1]],
// columns increasing.
type CSR struct {
	Rows, Cols int
	RowPtr     []int32
	Col        []int32
	Val        []float32
}

// FromDense sets m to the nonzeros of the rows×cols row-major matrix a,
// reusing m's storage.
func (m *CSR) FromDense(a []float32, rows, cols int) {
	m.Rows, m.Cols = 0, cols
	m.RowPtr = append(m.RowPtr[:0], 0)
	m.Col = m.Col[:0]
	m.Val = m.Val[:0]
	m.AppendDense(a, rows, cols)
}

// AppendDense appends the nonzeros of the rows×cols row-major matrix a as
// new rows of m (an empty m takes cols as its width).
func (m *CSR) AppendDense(a []float32, rows, cols int) {
	if len(m.RowPtr) == 0 {
		m.RowPtr = append(m.RowPtr, 0)
		m.Rows, m.Cols = 0, cols
	}
	if cols != m.Cols {
		panic("sparse: AppendDense: rows of a different width")
	}
	for i := range rows {
		row := a[i*cols : (i+1)*cols]
		// Room for a dense row, then branch-free: every value is written
		// at k, and k advances past the nonzeros only.
		n := len(m.Col)
		m.Col = slices.Grow(m.Col, cols)[:n+cols]
		m.Val = slices.Grow(m.Val, cols)[:n+cols]
		col, val := m.Col[n:n+cols], m.Val[n:n+cols]
		k := 0
		for p, v := range row {
			col[k] = int32(p) // k ≤ p < cols
			val[k] = v
			if v != 0 {
				k++
			}
		}
		m.Col, m.Val = m.Col[:n+k], m.Val[:n+k]
		m.RowPtr = append(m.RowPtr, int32(len(m.Col)))
	}
	m.Rows += rows
}

// Reserve grows m's storage to hold rows rows and nnz nonzeros, so that
// FromDense and Transpose of matrices that size allocate nothing.
func (m *CSR) Reserve(rows, nnz int) {
	if cap(m.RowPtr) < rows+1 {
		m.RowPtr = make([]int32, 0, rows+1)
	}
	if cap(m.Col) < nnz {
		m.Col = make([]int32, 0, nnz)
	}
	if cap(m.Val) < nnz {
		m.Val = make([]float32, 0, nnz)
	}
}

// NNZ returns the number of stored nonzeros.
func (m *CSR) NNZ() int { return len(m.Col) }

// Density returns the fraction of nonzero entries.
func (m *CSR) Density() float64 {
	if m.Rows == 0 || m.Cols == 0 {
		return 0
	}
	return float64(len(m.Col)) / float64(m.Rows*m.Cols)
}

// ZeroFraction returns the fraction of zeros among the rows×cols values of
// a, looking at no more than limit values spread over the matrix (all when
// limit <= 0): a cheap test of whether the sparse product pays.
func ZeroFraction(a []float32, rows, cols, limit int) float64 {
	n := rows * cols
	if n == 0 {
		return 0
	}
	step := 1
	if limit > 0 && n > limit {
		step = n / limit
	}
	zeros, seen := 0, 0
	for i := 0; i < n; i += step {
		if a[i] == 0 {
			zeros++
		}
		seen++
	}
	return float64(zeros) / float64(seen)
}

// Transpose sets t to mᵀ, reusing t's storage: row p of t holds the
// entries of column p of m, in m's row order.
func (m *CSR) Transpose(t *CSR) {
	t.Rows, t.Cols = m.Cols, m.Rows
	nnz := len(m.Col)
	t.RowPtr = resize32(t.RowPtr, m.Cols+1)
	clear(t.RowPtr)
	for _, c := range m.Col {
		t.RowPtr[c+1]++
	}
	for p := range m.Cols {
		t.RowPtr[p+1] += t.RowPtr[p]
	}
	t.Col = resize32(t.Col, nnz)
	if cap(t.Val) < nnz {
		t.Val = make([]float32, nnz)
	}
	t.Val = t.Val[:nnz]
	// next[p] is where column p's next entry goes; RowPtr[p] serves as it
	// and is restored afterwards.
	next, tcol, tval := t.RowPtr[:m.Cols], t.Col, t.Val
	for i := range m.Rows {
		lo, hi := m.RowPtr[i], m.RowPtr[i+1]
		cols := m.Col[lo:hi]
		vals := m.Val[lo:hi]
		vals = vals[:len(cols)]
		for q, c := range cols {
			at := next[c]
			tcol[at] = int32(i)
			tval[at] = vals[q]
			next[c] = at + 1
		}
	}
	for p := m.Cols; p > 0; p-- {
		t.RowPtr[p] = t.RowPtr[p-1]
	}
	t.RowPtr[0] = 0
}

func resize32(s []int32, n int) []int32 {
	if cap(s) < n {
		return make([]int32, n)
	}
	return s[:n]
}
