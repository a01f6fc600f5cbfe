package sparse

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

func randSparse(rng *rand.Rand, rows, cols int, density float64) []float32 {
	a := make([]float32, rows*cols)
	for i := range a {
		if rng.Float64() < density {
			a[i] = float32(rng.NormFloat64())
		}
	}
	return a
}

func randDense(rng *rand.Rand, n int) []float32 {
	a := make([]float32, n)
	for i := range a {
		a[i] = float32(rng.NormFloat64())
	}
	return a
}

func TestMulRowsMatchesReference(t *testing.T) { eachKernel(t, testMulRowsMatchesReference) }

func testMulRowsMatchesReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, tc := range []struct {
		rows, cols, n, ldw, ldo int
		density                 float64
	}{
		{1, 1, 1, 1, 1, 1},
		{3, 5, 7, 7, 7, 0.5},
		{4, 20, 16, 16, 16, 0.3},
		{5, 30, 17, 19, 20, 0.3},
		{7, 784, 400, 400, 400, 0.19},
		{6, 50, 500, 500, 512, 0.2}, // wider than one AVX-512 tile
		{3, 40, 129, 129, 129, 0},   // all rows empty
		{9, 33, 255, 260, 255, 1},   // dense
		{2, 10, 10, 10, 10, 0.5},    // narrower than a vector
	} {
		for _, withBias := range []bool{false, true} {
			for _, relu := range []bool{false, true} {
				a := randSparse(rng, tc.rows, tc.cols, tc.density)
				w := randDense(rng, (tc.cols-1)*tc.ldw+tc.n)
				var bias []float32
				if withBias {
					bias = randDense(rng, tc.n)
				}
				var m CSR
				m.FromDense(a, tc.rows, tc.cols)
				out := make([]float32, (tc.rows-1)*tc.ldo+tc.n)
				for i := range out {
					out[i] = float32(math.NaN()) // every element must be written
				}
				MulRows(out, tc.ldo, &m, 0, tc.rows, w, tc.ldw, tc.n, bias, relu)
				for i := range tc.rows {
					for c := range tc.n {
						var ref, mag float64
						if bias != nil {
							ref, mag = float64(bias[c]), math.Abs(float64(bias[c]))
						}
						for p := range tc.cols {
							x := float64(a[i*tc.cols+p]) * float64(w[p*tc.ldw+c])
							ref += x
							mag += math.Abs(x)
						}
						if relu && ref < 0 {
							ref = 0
						}
						got := float64(out[i*tc.ldo+c])
						if math.Abs(got-ref) > 1e-5*mag+1e-30 || math.IsNaN(got) {
							t.Fatalf("%+v bias %v relu %v: out[%d,%d] = %v, want %v", tc, withBias, relu, i, c, got, ref)
						}
					}
				}
			}
		}
	}
}

func TestMulRowsSplitIsBitIdentical(t *testing.T) { eachKernel(t, testMulRowsSplitIsBitIdentical) }

func testMulRowsSplitIsBitIdentical(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	rows, cols, n := 37, 784, 400
	a := randSparse(rng, rows, cols, 0.2)
	w := randDense(rng, cols*n)
	bias := randDense(rng, n)
	var m CSR
	m.FromDense(a, rows, cols)
	whole := make([]float32, rows*n)
	MulRows(whole, n, &m, 0, rows, w, n, n, bias, true)
	parts := make([]float32, rows*n)
	for _, r := range [][2]int{{20, 37}, {0, 7}, {7, 20}} {
		MulRows(parts[r[0]*n:], n, &m, r[0], r[1], w, n, n, bias, true)
	}
	for i := range whole {
		if math.Float32bits(whole[i]) != math.Float32bits(parts[i]) {
			t.Fatalf("element %d: %v whole, %v in parts", i, whole[i], parts[i])
		}
	}
}

func TestAddOuterMatchesReference(t *testing.T) { eachKernel(t, testAddOuterMatchesReference) }

func testAddOuterMatchesReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for _, tc := range []struct {
		rows, cols, n, ldw, ldd, c0, c1 int
		density                         float64
	}{
		{1, 1, 1, 1, 1, 0, 1, 1},
		{5, 20, 17, 17, 17, 0, 17, 0.4},
		{8, 784, 400, 400, 400, 0, 400, 0.2},
		{8, 784, 400, 400, 400, 0, 208, 0.2},
		{8, 784, 400, 400, 400, 208, 400, 0.2},
		{6, 30, 500, 503, 510, 3, 497, 0.3},
		{4, 10, 40, 40, 40, 0, 40, 0},
	} {
		a := randSparse(rng, tc.rows, tc.cols, tc.density)
		d := randDense(rng, (tc.rows-1)*tc.ldd+tc.n)
		w0 := randDense(rng, (tc.cols-1)*tc.ldw+tc.n)
		w := append([]float32(nil), w0...)
		var m CSR
		m.FromDense(a, tc.rows, tc.cols)
		AddOuter(w, tc.ldw, &m, d, tc.ldd, tc.c0, tc.c1)
		for p := range tc.cols {
			for c := range tc.n {
				ref, mag := float64(w0[p*tc.ldw+c]), math.Abs(float64(w0[p*tc.ldw+c]))
				if c >= tc.c0 && c < tc.c1 {
					for i := range tc.rows {
						x := float64(a[i*tc.cols+p]) * float64(d[i*tc.ldd+c])
						ref += x
						mag += math.Abs(x)
					}
				}
				got := float64(w[p*tc.ldw+c])
				if math.Abs(got-ref) > 1e-5*mag {
					t.Fatalf("%+v: W[%d,%d] = %v, want %v", tc, p, c, got, ref)
				}
			}
		}
	}
}

func TestNoAllocations(t *testing.T) { eachKernel(t, testNoAllocations) }

func testNoAllocations(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	a := randSparse(rng, 16, 784, 0.2)
	w := randDense(rng, 784*400)
	d := randDense(rng, 16*400)
	out := make([]float32, 16*400)
	var m, tr CSR
	m.FromDense(a, 16, 784)
	m.Transpose(&tr)
	if n := testing.AllocsPerRun(20, func() {
		MulRows(out, 400, &m, 0, 16, w, 400, 400, nil, true)
		AddOuter(w, 400, &m, d, 400, 0, 400)
		m.FromDense(a, 16, 784)
		m.Transpose(&tr)
		AccumulateRows(w, 400, &tr, 0, 784, d, 400, 400)
	}); n != 0 {
		t.Errorf("%v allocations per call, want 0", n)
	}
}

func BenchmarkMulRows(b *testing.B) {
	rng := rand.New(rand.NewPCG(9, 9))
	rows := 1000
	a := randSparse(rng, rows, 784, 0.19)
	w := randDense(rng, 784*400)
	bias := randDense(rng, 400)
	out := make([]float32, rows*400)
	var m CSR
	m.FromDense(a, rows, 784)
	b.ReportAllocs()
	for b.Loop() {
		MulRows(out, 400, &m, 0, rows, w, 400, 400, bias, true)
	}
	// Dense-equivalent rate: what a dense product of the same shape would
	// need to match.
	dense := 2.0 * float64(rows) * 784 * 400 * float64(b.N) / b.Elapsed().Seconds() / 1e9
	b.ReportMetric(dense, "dense-GFLOPS")
	b.ReportMetric(float64(rows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}

func BenchmarkAddOuter(b *testing.B) {
	rng := rand.New(rand.NewPCG(9, 10))
	rows := 512
	a := randSparse(rng, rows, 784, 0.19)
	w := randDense(rng, 784*400)
	d := randDense(rng, rows*400)
	var m CSR
	m.FromDense(a, rows, 784)
	b.ReportAllocs()
	for b.Loop() {
		AddOuter(w, 400, &m, d, 400, 0, 400)
	}
	dense := 2.0 * float64(rows) * 784 * 400 * float64(b.N) / b.Elapsed().Seconds() / 1e9
	b.ReportMetric(dense, "dense-GFLOPS")
}

func TestTransposeAndAccumulateRows(t *testing.T) { eachKernel(t, testTransposeAndAccumulateRows) }

func testTransposeAndAccumulateRows(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	for _, tc := range []struct {
		rows, cols, n int
		density       float64
	}{{1, 1, 1, 1}, {5, 7, 17, 0.4}, {64, 784, 400, 0.19}, {9, 30, 45, 0}, {6, 20, 33, 1}} {
		a := randSparse(rng, tc.rows, tc.cols, tc.density)
		var m, tr CSR
		m.FromDense(a, tc.rows, tc.cols)
		m.Transpose(&tr)
		// tr is exactly the CSR of the dense transpose.
		at := make([]float32, tc.cols*tc.rows)
		for i := range tc.rows {
			for p := range tc.cols {
				at[p*tc.rows+i] = a[i*tc.cols+p]
			}
		}
		var want CSR
		want.FromDense(at, tc.cols, tc.rows)
		if !slices.Equal(tr.RowPtr, want.RowPtr) || !slices.Equal(tr.Col, want.Col) || !slices.Equal(tr.Val, want.Val) || tr.Rows != tc.cols || tr.Cols != tc.rows {
			t.Fatalf("%+v: transpose differs", tc)
		}
		d := randDense(rng, tc.rows*tc.n)
		w0 := randDense(rng, tc.cols*tc.n)
		w := append([]float32(nil), w0...)
		// Two row ranges, as two threads would.
		half := tc.cols / 2
		AccumulateRows(w, tc.n, &tr, half, tc.cols, d, tc.n, tc.n)
		AccumulateRows(w, tc.n, &tr, 0, half, d, tc.n, tc.n)
		for p := range tc.cols {
			for c := range tc.n {
				ref, mag := float64(w0[p*tc.n+c]), math.Abs(float64(w0[p*tc.n+c]))
				for i := range tc.rows {
					x := float64(a[i*tc.cols+p]) * float64(d[i*tc.n+c])
					ref += x
					mag += math.Abs(x)
				}
				if got := float64(w[p*tc.n+c]); math.Abs(got-ref) > 1e-5*mag {
					t.Fatalf("%+v: W[%d,%d] = %v, want %v", tc, p, c, got, ref)
				}
			}
		}
	}
}

func BenchmarkAccumulateRows(b *testing.B) {
	rng := rand.New(rand.NewPCG(9, 10))
	rows := 512
	a := randSparse(rng, rows, 784, 0.19)
	w := randDense(rng, 784*400)
	d := randDense(rng, rows*400)
	var m, tr CSR
	m.FromDense(a, rows, 784)
	b.ReportAllocs()
	for b.Loop() {
		m.Transpose(&tr)
		AccumulateRows(w, 400, &tr, 0, 784, d, 400, 400)
	}
	dense := 2.0 * float64(rows) * 784 * 400 * float64(b.N) / b.Elapsed().Seconds() / 1e9
	b.ReportMetric(dense, "dense-GFLOPS")
}
