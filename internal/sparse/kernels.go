package sparse

// mulFn computes one tile of one row of MulRows (AccumulateRows when bias
// is the output row itself); outerFn one row of AddOuter for a tile.
type (
	mulFn   = func(out, w *float32, ldw int, col *int32, val *float32, nnz int, bias *float32, relu int)
	outerFn = func(w *float32, ldw int, col *int32, val *float32, nnz int, d *float32)
)

// kernels is a family of assembly kernels: mul[v] and outer[v] handle
// tiles of v vectors of lanes floats.
type kernels struct {
	name  string
	lanes int
	mul   []mulFn
	outer []outerFn
}
