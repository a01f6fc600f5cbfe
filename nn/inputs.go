package nn

import (
	"fmt"
	"slices"

	"github.com/cleval/cleval/internal/sparse"
)

// Inputs is a growing set of input rows that are read many times
// (evaluation sets), kept in the form the model's first layer reads
// fastest: rows that are mostly zeros (MNIST pixels) as a sparse matrix
// for an MLP, dense rows otherwise. Make one with Model.NewInputs.
type Inputs struct {
	dim         int
	rows        int
	allowSparse bool
	decided     bool
	grow        int // rows Grow asked room for before the form was chosen
	dense       []float32
	csr         *sparse.CSR
}

// NewDenseInputs returns an empty set of rows of dim values kept dense,
// which every model reads.
func NewDenseInputs(dim int) *Inputs { return &Inputs{dim: dim} }

// zeroSampleInputs is the number of values the first Append inspects to
// choose the form.
const zeroSampleInputs = 1 << 16

// Append adds n rows (x holds n·dim values). The first call chooses the
// form from the rows it is given, so the choice depends on the data alone.
func (in *Inputs) Append(x []float32, n int) {
	if len(x) < n*in.dim {
		panic(fmt.Sprintf("nn: Inputs.Append: %d values for %d rows of %d", len(x), n, in.dim))
	}
	if n == 0 {
		return
	}
	if !in.decided {
		in.decided = true
		if in.allowSparse && sparse.ZeroFraction(x[:n*in.dim], n, in.dim, zeroSampleInputs) >= SparseThreshold {
			in.csr = &sparse.CSR{}
		} else {
			in.dense = slices.Grow(in.dense, in.grow*in.dim)
		}
	}
	if in.csr != nil {
		in.csr.AppendDense(x, n, in.dim)
	} else {
		in.dense = append(in.dense, x[:n*in.dim]...)
	}
	in.rows += n
}

// Len returns the number of rows.
func (in *Inputs) Len() int { return in.rows }

// Dim returns the number of values per row.
func (in *Inputs) Dim() int { return in.dim }

// Sparse reports whether the rows are kept as a sparse matrix.
func (in *Inputs) Sparse() bool { return in.csr != nil }

// Grow reserves room for n more dense rows (a hint; sparse sets ignore
// it). Before the first Append chooses the form, the room is reserved
// once the rows turn out dense.
func (in *Inputs) Grow(n int) {
	switch {
	case !in.decided:
		in.grow += n
	case in.csr == nil:
		in.dense = slices.Grow(in.dense, n*in.dim)
	}
}

// rowsDense returns dense rows r0..r0+n-1.
func (in *Inputs) rowsDense(r0, n int) []float32 {
	return in.dense[r0*in.dim : (r0+n)*in.dim]
}

func (in *Inputs) check(r0, n, dim int) {
	if in.dim != dim || r0 < 0 || r0+n > in.rows {
		panic(fmt.Sprintf("nn: rows %d..%d of an input set of %d rows of %d values, for a model with %d inputs", r0, r0+n, in.rows, in.dim, dim))
	}
}
