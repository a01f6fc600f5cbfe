package gemm

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// mat is a row-major test matrix with a stride and a sentinel-filled
// margin, so that writes outside the logical matrix are caught.
type mat struct {
	rows, cols, ld int
	data           []float32
}

const sentinel = float32(-12345.5)

func newMat(rng *rand.Rand, rows, cols, pad int) mat {
	ld := max(1, cols+pad)
	m := mat{rows: rows, cols: cols, ld: ld, data: make([]float32, rows*ld+pad)}
	for i := range m.data {
		m.data[i] = sentinel
	}
	for i := 0; i < rows; i++ {
		for j := 0; j < cols; j++ {
			m.data[i*ld+j] = float32(rng.NormFloat64())
		}
	}
	return m
}

func (m mat) at(i, j int) float32 { return m.data[i*m.ld+j] }

func (m mat) clone() mat {
	c := m
	c.data = append([]float32(nil), m.data...)
	return c
}

// refGemm returns alpha*op(A)*op(B) + beta*C in float64 and, per element,
// the scale alpha*Σ|a||b| + |beta*c| that bounds the rounding error.
func refGemm(tA, tB bool, m, n, k int, alpha float32, a, b mat, beta float32, c mat) (ref, scale []float64) {
	ref = make([]float64, m*n)
	scale = make([]float64, m*n)
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			var s, sa float64
			for p := 0; p < k; p++ {
				var av, bv float32
				if tA {
					av = a.at(p, i)
				} else {
					av = a.at(i, p)
				}
				if tB {
					bv = b.at(j, p)
				} else {
					bv = b.at(p, j)
				}
				s += float64(av) * float64(bv)
				sa += math.Abs(float64(av) * float64(bv))
			}
			r := float64(alpha) * s
			sc := math.Abs(float64(alpha)) * sa
			if beta != 0 {
				r += float64(beta) * float64(c.at(i, j))
				sc += math.Abs(float64(beta) * float64(c.at(i, j)))
			}
			ref[i*n+j] = r
			scale[i*n+j] = sc
		}
	}
	return ref, scale
}

type shape struct {
	tA, tB      bool
	m, n, k     int
	alpha, beta float32
	pad         int // extra row stride on A, B and C
}

func (s shape) String() string {
	return fmt.Sprintf("tA=%v,tB=%v,%dx%dx%d,a=%g,b=%g,pad=%d", s.tA, s.tB, s.m, s.k, s.n, s.alpha, s.beta, s.pad)
}

// run computes s with ctx, checks the result against the float64
// reference and that nothing outside C changed, and returns C.
func (s shape) run(t *testing.T, ctx *Context, rng *rand.Rand, nanC bool) []float32 {
	t.Helper()
	ar, ac := s.m, s.k
	if s.tA {
		ar, ac = s.k, s.m
	}
	br, bc := s.k, s.n
	if s.tB {
		br, bc = s.n, s.k
	}
	a := newMat(rng, ar, ac, s.pad)
	b := newMat(rng, br, bc, s.pad)
	c := newMat(rng, s.m, s.n, s.pad)
	if nanC {
		for i := 0; i < s.m; i++ {
			for j := 0; j < s.n; j++ {
				c.data[i*c.ld+j] = float32(math.NaN())
			}
		}
	}
	c0 := c.clone()
	ref, scale := refGemm(s.tA, s.tB, s.m, s.n, s.k, s.alpha, a, b, s.beta, c0)
	ctx.Sgemm(s.tA, s.tB, s.m, s.n, s.k, s.alpha, a.data, a.ld, b.data, b.ld, s.beta, c.data, c.ld)
	bad := 0
	for i := 0; i < s.m; i++ {
		for j := 0; j < s.n; j++ {
			got := float64(c.at(i, j))
			want := ref[i*s.n+j]
			if d := math.Abs(got - want); !(d <= 1e-5*scale[i*s.n+j]+1e-30) {
				if bad < 5 {
					t.Errorf("%v [%s]: C[%d,%d] = %g, want %g (scale %g)", s, ctx.Kernel(), i, j, got, want, scale[i*s.n+j])
				}
				bad++
			}
		}
	}
	for idx, v := range c.data {
		if i, j := idx/c.ld, idx%c.ld; i < s.m && j < s.n {
			continue
		}
		if v != c0.data[idx] && !(math.IsNaN(float64(v)) && math.IsNaN(float64(c0.data[idx]))) {
			t.Fatalf("%v [%s]: element %d outside C changed: %g", s, ctx.Kernel(), idx, v)
		}
	}
	return c.data
}

// kernelContexts returns Contexts for every kernel family this CPU can
// run (so the portable kernel is tested on amd64 too), with threads
// threads and parallelism forced even on small shapes.
func kernelContexts(threads int) []*Context {
	var cs []*Context
	for _, ks := range availableKernels() {
		c := newContext(threads, ks)
		c.e.minFlops = 0
		c.native = true
		cs = append(cs, c)
	}
	return cs
}

func TestSgemmShapes(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	dims := []int{1, 2, 3, 5, 7, 8, 13, 15, 16, 17, 31, 33, 65, 127}
	for _, ctx := range kernelContexts(1) {
		defer ctx.Close()
		for _, tA := range []bool{false, true} {
			for _, tB := range []bool{false, true} {
				for _, m := range dims {
					for _, n := range []int{1, 3, 16, 17, 33, 65} {
						for _, k := range []int{1, 2, 5, 17, 64, 127} {
							s := shape{tA: tA, tB: tB, m: m, n: n, k: k, alpha: 1, beta: 0}
							switch rng.IntN(4) {
							case 1:
								s.alpha, s.beta = -0.75, 1
							case 2:
								s.alpha, s.beta = 2.5, -0.5
							case 3:
								s.pad = 1 + rng.IntN(5)
							}
							s.run(t, ctx, rng, false)
						}
					}
				}
			}
		}
	}
}

func TestSgemmLargeK(t *testing.T) {
	// k above the k block size: several blocks, beta applied to the first.
	rng := rand.New(rand.NewPCG(3, 4))
	for _, ctx := range kernelContexts(2) {
		defer ctx.Close()
		for _, s := range []shape{
			{m: 67, n: 41, k: 784, alpha: 1, beta: 0},
			{tA: true, m: 45, n: 33, k: 600, alpha: 0.5, beta: 2, pad: 3},
			{tB: true, m: 31, n: 47, k: 513, alpha: -1, beta: 1},
			{tA: true, tB: true, m: 61, n: 18, k: 1025, alpha: 1.5, beta: -1, pad: 2},
			// ldb (lda) a multiple of 128: B (A) packed rather than read
			// in place.
			{m: 70, n: 128, k: 300, alpha: 1, beta: 0},
			{tA: true, m: 128, n: 40, k: 100, alpha: 1, beta: 1},
			{tA: true, m: 65, n: 250, k: 100, alpha: 1, beta: 0.5, pad: 6},
		} {
			s.run(t, ctx, rng, false)
		}
	}
}

func TestSgemmBetaZeroNaN(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for _, ctx := range kernelContexts(2) {
		defer ctx.Close()
		for _, s := range []shape{
			{m: 1, n: 1, k: 1, alpha: 1},
			{m: 37, n: 19, k: 300, alpha: 2},
			{tA: true, tB: true, m: 16, n: 16, k: 8, alpha: -1, pad: 2},
		} {
			for _, beta := range []float32{0, float32(math.Copysign(0, -1))} {
				s.beta = beta
				c := s.run(t, ctx, rng, true)
				for _, v := range c {
					if math.IsNaN(float64(v)) {
						t.Fatalf("%v [%s]: NaN from C propagated with beta=0", s, ctx.Kernel())
					}
				}
			}
		}
	}
}

func TestSgemmAlphaZeroOrKZero(t *testing.T) {
	// A and B are not read: NaN there must not reach C.
	ctx := NewContext(1)
	defer ctx.Close()
	nan := float32(math.NaN())
	a := []float32{nan, nan, nan, nan}
	b := []float32{nan, nan, nan, nan}
	c := []float32{1, 2, 3, 4}
	ctx.Sgemm(false, false, 2, 2, 2, 0, a, 2, b, 2, 3, c, 2)
	if want := []float32{3, 6, 9, 12}; fmt.Sprint(c) != fmt.Sprint(want) {
		t.Errorf("alpha=0, beta=3: C = %v, want %v", c, want)
	}
	ctx.Sgemm(false, false, 2, 2, 0, 1, nil, 1, nil, 2, 0, c, 2)
	if want := []float32{0, 0, 0, 0}; fmt.Sprint(c) != fmt.Sprint(want) {
		t.Errorf("k=0, beta=0: C = %v, want %v", c, want)
	}
	// m == 0 or n == 0: nothing to do, nothing read.
	ctx.Sgemm(false, false, 0, 2, 2, 1, nil, 2, b, 2, 0, nil, 2)
}

func TestSgemmRandomized(t *testing.T) {
	// Fuzz-like: random shapes, layouts, strides, scalars and thread counts.
	rng := rand.New(rand.NewPCG(7, 8))
	ctxs := map[int][]*Context{}
	for _, th := range []int{1, 2, 3} {
		ctxs[th] = kernelContexts(th)
		defer func() {
			for _, c := range ctxs[th] {
				c.Close()
			}
		}()
	}
	iters := 150
	if testing.Short() {
		iters = 30
	}
	for it := 0; it < iters; it++ {
		s := shape{
			tA: rng.IntN(2) == 1, tB: rng.IntN(2) == 1,
			m: 1 + rng.IntN(100), n: 1 + rng.IntN(70), k: 1 + rng.IntN(300),
			alpha: []float32{1, -1, 0.5, 3}[rng.IntN(4)],
			beta:  []float32{0, 1, -2, 0.25}[rng.IntN(4)],
			pad:   rng.IntN(3) * rng.IntN(7),
		}
		cs := ctxs[1+rng.IntN(3)]
		s.run(t, cs[rng.IntN(len(cs))], rng, rng.IntN(4) == 0 && s.beta == 0)
	}
}

// FuzzSgemm checks random shapes against the reference with the default
// kernel; `go test -fuzz FuzzSgemm` explores beyond the seeds.
func FuzzSgemm(f *testing.F) {
	f.Add(uint8(1), uint8(1), uint16(1), uint8(0), uint64(1))
	f.Add(uint8(31), uint8(17), uint16(257), uint8(3), uint64(2))
	f.Add(uint8(61), uint8(33), uint16(5), uint8(5), uint64(3))
	ctx := NewContext(2)
	ctx.e.minFlops = 0
	ctx.native = true
	defer ctx.Close()
	f.Fuzz(func(t *testing.T, m, n uint8, k uint16, flags uint8, seed uint64) {
		if m == 0 || n == 0 || k == 0 || k > 600 {
			t.Skip()
		}
		rng := rand.New(rand.NewPCG(seed, 9))
		s := shape{tA: flags&1 != 0, tB: flags&2 != 0, m: int(m), n: int(n), k: int(k), alpha: 1, pad: int(flags>>4) & 3}
		if flags&4 != 0 {
			s.alpha, s.beta = -1.5, 0.5
		}
		s.run(t, ctx, rng, false)
	})
}

// TestDeterminismThreads checks that results are bit-identical for 1, 2,
// 3 and 4 threads, on shapes with edge tiles in m, n and k and several
// k blocks, for every kernel family.
func TestDeterminismThreads(t *testing.T) {
	shapes := []shape{
		{m: 257, n: 401, k: 785, alpha: 1, beta: 0},
		{tA: true, m: 95, n: 37, k: 520, alpha: 0.5, beta: 1.5, pad: 3},
		{tB: true, m: 61, n: 130, k: 300, alpha: -1, beta: 1},
		{tA: true, tB: true, m: 33, n: 17, k: 1000, alpha: 2, beta: 0, pad: 1},
		{m: 5, n: 300, k: 77, alpha: 1, beta: 0.5},  // fewer row tiles than threads: split n
		{m: 100, n: 256, k: 200, alpha: 1, beta: 0}, // ldb = 256: B packed
		{m: 1, n: 200, k: 50, alpha: 1, beta: 0},
		{m: 203, n: 10, k: 401, alpha: 1, beta: 0}, // narrow: dot kernels
		{tB: true, m: 77, n: 7, k: 64, alpha: -1, beta: 2, pad: 2},
		{tA: true, m: 150, n: 10, k: 300, alpha: 0.5, beta: 1, pad: 1}, // narrow: Cᵀ path
		{tA: true, tB: true, m: 47, n: 3, k: 520, alpha: 1, beta: 0},
	}
	for ki, ks := range availableKernels() {
		for _, s := range shapes {
			if ks.name == "go" && s.m*s.n*s.k > 2e7 {
				s.m, s.n = s.m/2+1, s.n/2+1
			}
			var first []float32
			for _, th := range []int{1, 2, 3, 4} {
				ctx := newContext(th, ks)
				ctx.e.minFlops = 0
				ctx.native = true
				rng := rand.New(rand.NewPCG(uint64(ki), 10)) // same inputs for every thread count
				got := s.run(t, ctx, rng, false)
				ctx.Close()
				if first == nil {
					first = got
					continue
				}
				for i := range got {
					if math.Float32bits(got[i]) != math.Float32bits(first[i]) {
						t.Fatalf("%v [%s]: threads=%d differs from threads=1 at %d: %g vs %g", s, ks.name, th, i, got[i], first[i])
					}
				}
			}
		}
	}
}

// TestEdgeTilesMatchFullTiles checks that an element's value does not
// depend on its position: computing a sub-block of C on its own (so that
// its elements fall in edge tiles) gives the same bits as inside a large
// product.
func TestEdgeTilesMatchFullTiles(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	const m, n, k = 97, 75, 300
	for _, ks := range availableKernels() {
		ctx := newContext(1, ks)
		ctx.native = true
		a := newMat(rng, m, k, 0)
		b := newMat(rng, k, n, 0)
		c := make([]float32, m*n)
		ctx.Sgemm(false, false, m, n, k, 1, a.data, k, b.data, n, 0, c, n)
		// Sub-blocks keep more than dotMaxN columns: narrower products take
		// the dot kernels, whose summation order differs (see below).
		for _, off := range [][2]int{{1, 3}, {31, 17}, {50, 40}, {96, 58}} {
			i0, j0 := off[0], off[1]
			sm, sn := m-i0, n-j0
			sub := make([]float32, sm*sn)
			ctx.Sgemm(false, false, sm, sn, k, 1, a.data[i0*k:], k, b.data[j0:], n, 0, sub, sn)
			for i := 0; i < sm; i++ {
				for j := 0; j < sn; j++ {
					if math.Float32bits(sub[i*sn+j]) != math.Float32bits(c[(i0+i)*n+j0+j]) {
						t.Fatalf("[%s] offset %v: element (%d,%d) differs: %g vs %g", ks.name, off, i, j, sub[i*sn+j], c[(i0+i)*n+j0+j])
					}
				}
			}
		}
		ctx.Close()
	}
}

// TestNarrow checks the narrow-C paths (dot kernels for A·B and A·Bᵀ, the
// transposed product for Aᵀ·B) on every width and k-tail, and that a row's
// value does not depend on which rows are computed with it.
func TestNarrow(t *testing.T) {
	rng := rand.New(rand.NewPCG(15, 16))
	for _, ctx := range kernelContexts(1) {
		for n := 1; n <= 17; n++ {
			for _, k := range []int{1, 7, 8, 9, 16, 17, 100} {
				for _, tA := range []bool{false, true} {
					for _, tB := range []bool{false, true} {
						s := shape{tA: tA, tB: tB, m: 23, n: n, k: k, alpha: 1.5, beta: []float32{0, -1}[k%2], pad: k % 3}
						s.run(t, ctx, rng, false)
					}
				}
			}
		}
		const m, k = 45, 333
		for _, n := range []int{1, 5, 10, 12} {
			for _, tB := range []bool{false, true} {
				a := newMat(rng, m, k, 0)
				b := newMat(rng, k, n, 0)
				ldb := n
				if tB {
					b, ldb = newMat(rng, n, k, 0), k
				}
				c := make([]float32, m*n)
				ctx.Sgemm(false, tB, m, n, k, 1, a.data, k, b.data, ldb, 0, c, n)
				for _, i0 := range []int{1, 7, 44} {
					sub := make([]float32, (m-i0)*n)
					ctx.Sgemm(false, tB, m-i0, n, k, 1, a.data[i0*k:], k, b.data, ldb, 0, sub, n)
					for idx := range sub {
						if math.Float32bits(sub[idx]) != math.Float32bits(c[i0*n+idx]) {
							t.Fatalf("[%s] n=%d tB=%v row offset %d: element %d differs", ctx.Kernel(), n, tB, i0, idx)
						}
					}
				}
			}
		}
		ctx.Close()
	}
}

func TestZeroAllocs(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 14))
	for _, th := range []int{1, 2} {
		ctx := NewContext(th)
		for _, s := range []shape{
			{m: 256, n: 400, k: 784, alpha: 1},
			{tA: true, m: 128, n: 100, k: 256, alpha: 1, beta: 1},
			{tB: true, m: 64, n: 40, k: 100, alpha: 1},
			{m: 5000, n: 10, k: 400, alpha: 1},
			{tA: true, m: 400, n: 10, k: 512, alpha: 1, beta: 1},
			{tB: true, m: 512, n: 400, k: 10, alpha: 1},
		} {
			ar, ac := s.m, s.k
			if s.tA {
				ar, ac = s.k, s.m
			}
			br, bc := s.k, s.n
			if s.tB {
				br, bc = s.n, s.k
			}
			a, b, c := newMat(rng, ar, ac, 0), newMat(rng, br, bc, 0), newMat(rng, s.m, s.n, 0)
			call := func() {
				ctx.Sgemm(s.tA, s.tB, s.m, s.n, s.k, s.alpha, a.data, a.ld, b.data, b.ld, s.beta, c.data, c.ld)
			}
			call()
			if n := testing.AllocsPerRun(5, call); n != 0 {
				t.Errorf("threads=%d %v: %v allocations per call", th, s, n)
			}
		}
		ctx.Close()
	}
}

func TestPanics(t *testing.T) {
	ctx := NewContext(1)
	defer ctx.Close()
	for name, f := range map[string]func(){
		"negative m": func() { ctx.Sgemm(false, false, -1, 1, 1, 1, nil, 1, nil, 1, 0, nil, 1) },
		"short a": func() {
			ctx.Sgemm(false, false, 2, 2, 2, 1, make([]float32, 3), 2, make([]float32, 4), 2, 0, make([]float32, 4), 2)
		},
		"small lda": func() {
			ctx.Sgemm(false, false, 2, 2, 2, 1, make([]float32, 4), 1, make([]float32, 4), 2, 0, make([]float32, 4), 2)
		},
		"short c": func() {
			ctx.Sgemm(false, true, 2, 3, 2, 1, make([]float32, 4), 2, make([]float32, 6), 2, 0, make([]float32, 5), 3)
		},
		"closed": func() {
			c := NewContext(2)
			c.Close()
			c.Close()
			c.Sgemm(false, false, 1, 1, 1, 1, []float32{1}, 1, []float32{1}, 1, 0, make([]float32, 1), 1)
		},
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: no panic", name)
				}
			}()
			f()
		}()
	}
}

// TestBackend runs the public path (OpenBLAS under the openblas tag) on
// every layout.
func TestBackend(t *testing.T) {
	rng := rand.New(rand.NewPCG(17, 18))
	ctx := NewContext(2)
	defer ctx.Close()
	t.Logf("backend: %s", BackendDetail())
	for _, s := range []shape{
		{m: 67, n: 45, k: 130, alpha: 1},
		{tA: true, m: 33, n: 10, k: 70, alpha: 2, beta: -1, pad: 2},
		{tB: true, m: 50, n: 70, k: 10, alpha: 1, beta: 1},
		{tA: true, tB: true, m: 17, n: 19, k: 23, alpha: -0.5, beta: 0.5, pad: 1},
	} {
		s.run(t, ctx, rng, s.beta == 0)
	}
}

func TestPackageSgemm(t *testing.T) {
	a := []float32{1, 2, 3, 4, 5, 6} // 2×3
	b := []float32{1, 0, 0, 1, 1, 1} // 3×2
	c := make([]float32, 4)
	Sgemm(false, false, 2, 2, 3, 1, a, 3, b, 2, 0, c, 2)
	if want := []float32{4, 5, 10, 11}; fmt.Sprint(c) != fmt.Sprint(want) {
		t.Errorf("C = %v, want %v", c, want)
	}
}

// TestBlocking shrinks kc and nc so that moderate shapes run several k
// blocks and column blocks, checking results and thread-count invariance.
func TestBlocking(t *testing.T) {
	for _, ks := range availableKernels() {
		for _, s := range []shape{
			{m: 70, n: 100, k: 130, alpha: 1, beta: 0},
			{tA: true, m: 45, n: 77, k: 61, alpha: -1, beta: 0.5, pad: 1},
			{tB: true, m: 33, n: 130, k: 99, alpha: 2, beta: 1},
		} {
			var first []float32
			for _, th := range []int{1, 2, 3} {
				ctx := newContext(th, ks)
				ctx.native = true
				ctx.e.minFlops = 0
				ctx.e.kcMax, ctx.e.ncMax = 24, 32
				got := s.run(t, ctx, rand.New(rand.NewPCG(31, 32)), false)
				ctx.Close()
				if first == nil {
					first = got
				} else if !slices.Equal(got, first) {
					t.Fatalf("%v [%s]: threads=%d differs from threads=1", s, ks.name, th)
				}
			}
		}
	}
}
