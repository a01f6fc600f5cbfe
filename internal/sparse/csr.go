package sparse

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
	m.Rows, m.Cols = rows, cols
	m.RowPtr = append(m.RowPtr[:0], 0)
	m.Col = m.Col[:0]
	m.Val = m.Val[:0]
	for i := range rows {
		row := a[i*cols : (i+1)*cols]
		for p, v := range row {
			if v != 0 {
				m.Col = append(m.Col, int32(p))
				m.Val = append(m.Val, v)
			}
		}
		m.RowPtr = append(m.RowPtr, int32(len(m.Col)))
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
