package sparse

import (
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"slices"
	"testing"
)

// eachKernel runs fn with every kernel family this CPU runs made active
// in turn, then with the Go loops. Tests that use it must not run in
// parallel with others of this package.
func eachKernel(t *testing.T, fn func(t *testing.T)) {
	saved := active
	defer func() { active = saved }()
	for _, k := range append(available(), nil) {
		active = k
		t.Run(Kernel(), fn)
	}
}

// TestEveryTileWidth runs MulRows, AccumulateRows and AddOuter with every
// kernel family on one tile of every width (and a Go remainder), on rows
// with no nonzero, a few (fewer than the prefetch distance) and many.
func TestEveryTileWidth(t *testing.T) {
	eachKernel(t, func(t *testing.T) {
		maxV, lanes := 1, 1
		if active != nil {
			maxV, lanes = len(active.mul)-1, active.lanes
		}
		rng := rand.New(rand.NewPCG(41, 42))
		const cols = 64
		for v := 1; v <= maxV; v++ {
			n := v*lanes + 3
			a := randSparse(rng, 4, cols, 0.6)
			for c := range cols { // row 0 empty, row 1 a few nonzeros
				a[c] = 0
				if c%20 != 0 {
					a[cols+c] = 0
				}
			}
			w := randDense(rng, cols*n)
			bias := randDense(rng, n)
			var m CSR
			m.FromDense(a, 4, cols)
			out := make([]float32, 4*n)
			MulRows(out, n, &m, 0, 4, w, n, n, bias, v%2 == 0)
			for i := range 4 {
				for c := range n {
					ref, mag := float64(bias[c]), math.Abs(float64(bias[c]))
					for p := range cols {
						x := float64(a[i*cols+p]) * float64(w[p*n+c])
						ref += x
						mag += math.Abs(x)
					}
					if v%2 == 0 && ref < 0 {
						ref = 0
					}
					if got := float64(out[i*n+c]); math.Abs(got-ref) > 1e-5*mag+1e-30 {
						t.Fatalf("MulRows width %d: out[%d,%d] = %v, want %v", v, i, c, got, ref)
					}
				}
			}
			// AccumulateRows (rows of the transpose) and AddOuter: W += Aᵀ·D.
			var tr CSR
			m.Transpose(&tr)
			d := randDense(rng, 4*n)
			w0 := randDense(rng, cols*n)
			wa, wo := append([]float32(nil), w0...), append([]float32(nil), w0...)
			AccumulateRows(wa, n, &tr, 0, cols, d, n, n)
			if v <= maxOuter() {
				AddOuter(wo, n, &m, d, n, 0, n)
			}
			for p := range cols {
				for c := range n {
					ref, mag := float64(w0[p*n+c]), math.Abs(float64(w0[p*n+c]))
					for i := range 4 {
						x := float64(a[i*cols+p]) * float64(d[i*n+c])
						ref += x
						mag += math.Abs(x)
					}
					if got := float64(wa[p*n+c]); math.Abs(got-ref) > 1e-5*mag+1e-30 {
						t.Fatalf("AccumulateRows width %d: W[%d,%d] = %v, want %v", v, p, c, got, ref)
					}
					if got := float64(wo[p*n+c]); v <= maxOuter() && math.Abs(got-ref) > 1e-5*mag+1e-30 {
						t.Fatalf("AddOuter width %d: W[%d,%d] = %v, want %v", v, p, c, got, ref)
					}
				}
			}
		}
	})
}

func maxOuter() int {
	if active == nil {
		return 1
	}
	return len(active.outer) - 1
}

// TestGODEBUGSelectsAVX2 runs this test binary again with
// GODEBUG=cpu.avx512f=off and checks that the AVX2 kernels are in use.
func TestGODEBUGSelectsAVX2(t *testing.T) {
	if want := os.Getenv("SPARSE_WANT_KERNEL"); want != "" {
		if got := Kernel(); got != want {
			t.Fatalf("Kernel() = %s, want %s", got, want)
		}
		return
	}
	hasAVX2 := false
	for _, k := range available() {
		hasAVX2 = hasAVX2 || k.name == "avx2"
	}
	if !hasAVX2 {
		t.Skip("no AVX2 kernels in this build or on this CPU")
	}
	cmd := exec.Command(os.Args[0], "-test.run", "^TestGODEBUGSelectsAVX2$", "-test.count", "1")
	cmd.Env = append(os.Environ(), "GODEBUG=cpu.avx512f=off", "SPARSE_WANT_KERNEL=avx2")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("with GODEBUG=cpu.avx512f=off: %v\n%s", err, out)
	}
}

// TestAppendDense checks that appending row blocks builds the same CSR as
// one FromDense of all the rows (dense, empty and mixed rows), and that
// the matrix holds exactly the nonzeros.
func TestAppendDense(t *testing.T) {
	rng := rand.New(rand.NewPCG(43, 44))
	const cols = 37
	a := randSparse(rng, 10, cols, 0.3)
	for c := range cols {
		a[2*cols+c] = 0                // row 2 empty
		a[5*cols+c] = float32(c) + 0.5 // row 5 dense
	}
	a[7*cols+3] = float32(math.Copysign(0, -1)) // -0 is a zero
	var whole, parts CSR
	whole.FromDense(a, 10, cols)
	parts.FromDense(a[:3*cols], 3, cols)
	parts.AppendDense(a[3*cols:6*cols], 3, cols)
	parts.AppendDense(a[6*cols:], 4, cols)
	if parts.Rows != 10 || parts.Cols != cols || !slices.Equal(parts.RowPtr, whole.RowPtr) || !slices.Equal(parts.Col, whole.Col) || !slices.Equal(parts.Val, whole.Val) {
		t.Fatal("appended rows differ from FromDense")
	}
	for i := range 10 {
		q := whole.RowPtr[i]
		for c := range cols {
			v := a[i*cols+c]
			if v == 0 {
				continue
			}
			if q >= whole.RowPtr[i+1] || whole.Col[q] != int32(c) || whole.Val[q] != v {
				t.Fatalf("row %d column %d: nonzero %v missing or out of order", i, c, v)
			}
			q++
		}
		if q != whole.RowPtr[i+1] {
			t.Fatalf("row %d: %d stored entries, %d nonzeros", i, whole.RowPtr[i+1]-whole.RowPtr[i], q-whole.RowPtr[i])
		}
	}
}
