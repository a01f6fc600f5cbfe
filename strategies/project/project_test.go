package project

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	_ "github.com/cleval/cleval/strategies/finetune"
	"github.com/cleval/cleval/strategies/internal/flat"
	"github.com/cleval/cleval/strategies/strategytest"
)

func randVec(rng *rand.Rand, n int) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(rng.NormFloat64())
	}
	return v
}

func norm(v []float32) float64 { return math.Sqrt(flat.Dot(v, v)) }

// TestAGEMProjection: g̃·g_ref ≥ 0 after the projection, and g is left
// exactly as it was when it does not conflict.
func TestAGEMProjection(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	projected := 0
	for trial := range 500 {
		n := 1 + rng.IntN(300)
		g, ref := randVec(rng, n), randVec(rng, n)
		if trial%7 == 0 {
			ref = slices.Clone(g) // no conflict
		}
		if trial%11 == 0 {
			for i := range ref {
				ref[i] = -g[i] // full conflict
			}
		}
		orig := slices.Clone(g)
		conflict := flat.Dot(g, ref) < 0
		did := Project(g, ref, 0)
		if did != conflict {
			t.Fatalf("trial %d: projected %v, conflict %v", trial, did, conflict)
		}
		if !conflict {
			if !slices.Equal(g, orig) {
				t.Fatalf("trial %d: g changed without a conflict", trial)
			}
			continue
		}
		projected++
		if d := flat.Dot(g, ref); d < -1e-5*norm(orig)*norm(ref) {
			t.Fatalf("trial %d: g̃·g_ref = %v < 0", trial, d)
		}
		// g̃ is g minus a multiple of g_ref: g̃ − g is parallel to g_ref.
		diff := make([]float32, n)
		for i := range diff {
			diff[i] = g[i] - orig[i]
		}
		cos := flat.Dot(diff, ref) / (norm(diff)*norm(ref) + 1e-30)
		if norm(diff) > 0 && math.Abs(math.Abs(cos)-1) > 1e-4 {
			t.Fatalf("trial %d: g̃ − g not parallel to g_ref (cos %v)", trial, cos)
		}
	}
	if projected < 100 {
		t.Errorf("only %d conflicting cases", projected)
	}
}

// bruteNNQP minimises ½uᵀHu + cᵀu over u ≥ 0 by trying every active set.
func bruteNNQP(H, c []float64, n int) []float64 {
	best := math.Inf(1)
	var bestU []float64
	for mask := 0; mask < 1<<n; mask++ {
		var idx []int
		for i := range n {
			if mask&(1<<i) != 0 {
				idx = append(idx, i)
			}
		}
		u := make([]float64, n)
		if len(idx) > 0 {
			// Solve H_PP z = −c_P by Gaussian elimination with pivoting.
			p := len(idx)
			a := make([]float64, p*(p+1))
			for r, i := range idx {
				for k, j := range idx {
					a[r*(p+1)+k] = H[i*n+j]
				}
				a[r*(p+1)+p] = -c[i]
			}
			ok := true
			for col := range p {
				piv := col
				for r := col + 1; r < p; r++ {
					if math.Abs(a[r*(p+1)+col]) > math.Abs(a[piv*(p+1)+col]) {
						piv = r
					}
				}
				if math.Abs(a[piv*(p+1)+col]) < 1e-14 {
					ok = false
					break
				}
				for k := range p + 1 {
					a[col*(p+1)+k], a[piv*(p+1)+k] = a[piv*(p+1)+k], a[col*(p+1)+k]
				}
				for r := range p {
					if r == col {
						continue
					}
					f := a[r*(p+1)+col] / a[col*(p+1)+col]
					for k := range p + 1 {
						a[r*(p+1)+k] -= f * a[col*(p+1)+k]
					}
				}
			}
			if !ok {
				continue
			}
			feasible := true
			for r, i := range idx {
				u[i] = a[r*(p+1)+p] / a[r*(p+1)+r]
				if u[i] < -1e-12 {
					feasible = false
				}
			}
			if !feasible {
				continue
			}
		}
		if f := objective(H, c, n, u); f < best {
			best, bestU = f, u
		}
	}
	return bestU
}

func objective(H, c []float64, n int, u []float64) float64 {
	f := 0.0
	for i := range n {
		f += c[i] * u[i]
		for j := range n {
			f += 0.5 * u[i] * H[i*n+j] * u[j]
		}
	}
	return f
}

// gram returns G·Gᵀ + eps·I of the rows of G.
func gram(G [][]float32, eps float64) []float64 {
	t := len(G)
	H := make([]float64, t*t)
	for i := range t {
		for j := range t {
			H[i*t+j] = flat.Dot(G[i], G[j])
		}
		H[i*t+i] += eps
	}
	return H
}

func TestNNQPMatchesBruteForce(t *testing.T) {
	rng := rand.New(rand.NewPCG(2, 2))
	var q NNQP
	for trial := range 300 {
		n := 1 + rng.IntN(5)
		p := n + rng.IntN(4)
		if trial%5 == 0 {
			p = max(1, n-1) // rank deficient: PSD Gram matrix
		}
		G := make([][]float32, n)
		for i := range G {
			G[i] = randVec(rng, p)
		}
		H := gram(G, 0)
		if trial%5 != 0 {
			for i := range n {
				H[i*n+i] += 1e-3
			}
		}
		c := make([]float64, n)
		for i := range c {
			c[i] = rng.NormFloat64() * 3
		}
		if trial%5 == 0 {
			// A singular H needs c in its range (as GEM's dual has, c =
			// G·(g + γGᵀ1)) for the minimum to exist.
			w := randVec(rng, p)
			for i := range c {
				c[i] = 3 * flat.Dot(G[i], w)
			}
		}
		u := make([]float64, n)
		q.Solve(H, c, n, u)
		want := bruteNNQP(H, c, n)
		fu, fw := objective(H, c, n, u), objective(H, c, n, want)
		if fu > fw+1e-8*(1+math.Abs(fw)) {
			t.Fatalf("trial %d (n=%d): objective %v, brute force %v\nu=%v\nwant=%v", trial, n, fu, fw, u, want)
		}
		// KKT: u ≥ 0, μ = Hu + c ≥ 0, u·μ = 0.
		for i := range n {
			mu := c[i]
			for j := range n {
				mu += H[i*n+j] * u[j]
			}
			if u[i] < 0 || mu < -1e-8*(1+math.Abs(c[i])) || math.Abs(u[i]*mu) > 1e-8*(1+math.Abs(c[i])) {
				t.Fatalf("trial %d: KKT violated at %d: u=%v μ=%v", trial, i, u[i], mu)
			}
		}
		if trial%5 != 0 {
			// Strictly convex: the minimiser is unique.
			for i := range n {
				if math.Abs(u[i]-want[i]) > 1e-6*(1+math.Abs(want[i])) {
					t.Fatalf("trial %d: u=%v, brute force %v", trial, u, want)
				}
			}
		}
	}
}

// TestGEMSatisfiesConstraints: with eps = 0 the projected gradient has
// g̃·g_k ≥ 0 for every k (within 1e-6), for γ = 0 and γ = 0.5, and g̃ is
// the dual solution g + Gᵀv with v ≥ γ matching the brute-force QP.
func TestGEMSatisfiesConstraints(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 3))
	for _, gamma := range []float64{0, 0.5} {
		s := &GEM{cfg: GEMConfig{Gamma: gamma, Eps: 0}}
		projected := 0
		for trial := range 300 {
			tk := 1 + rng.IntN(4)
			p := 5 + rng.IntN(40)
			G := make([][]float32, tk)
			for i := range G {
				G[i] = randVec(rng, p)
			}
			g := randVec(rng, p)
			orig := slices.Clone(g)
			if !s.Solve(g, G) {
				for _, gk := range G {
					if flat.Dot(gk, orig) < 0 {
						t.Fatalf("no projection despite a conflict")
					}
				}
				if !slices.Equal(g, orig) {
					t.Fatal("g changed without a conflict")
				}
				continue
			}
			projected++
			scale := norm(orig)
			for k, gk := range G {
				if d := flat.Dot(g, gk); d < -1e-6*scale*norm(gk) {
					t.Fatalf("γ=%v trial %d: g̃·g_%d = %v < 0", gamma, trial, k, d)
				}
			}
			// Brute force on the same dual in u = v − γ.
			H := gram(G, 0)
			c := make([]float64, tk)
			for i := range tk {
				c[i] = flat.Dot(G[i], orig)
				for j := range tk {
					c[i] += gamma * H[i*tk+j]
				}
			}
			u := bruteNNQP(H, c, tk)
			want := slices.Clone(orig)
			for k := range tk {
				flat.Axpy(want, float32(gamma+u[k]), G[k])
			}
			for i := range g {
				if math.Abs(float64(g[i]-want[i])) > 1e-4*(1+math.Abs(float64(want[i]))) {
					t.Fatalf("γ=%v trial %d: g̃[%d] = %v, brute force %v", gamma, trial, i, g[i], want[i])
				}
			}
		}
		if projected < 50 {
			t.Errorf("γ=%v: only %d projections", gamma, projected)
		}
	}
}

// TestGEMSolveDoesNotAllocate: the QP path allocates nothing once sized.
func TestGEMSolveDoesNotAllocate(t *testing.T) {
	rng := rand.New(rand.NewPCG(4, 4))
	G := [][]float32{randVec(rng, 50), randVec(rng, 50), randVec(rng, 50)}
	g := make([]float32, 50)
	for i := range g {
		g[i] = -G[0][i] - G[1][i] // conflicts
	}
	s := &GEM{cfg: GEMConfig{Gamma: 0.5, Eps: 1e-3}}
	work := slices.Clone(g)
	s.Solve(work, G)
	allocs := testing.AllocsPerRun(20, func() {
		copy(work, g)
		if !s.Solve(work, G) {
			t.Fatal("no projection")
		}
	})
	if allocs != 0 {
		t.Errorf("%v allocations per projection", allocs)
	}
}

// TestOWMOrthogonalToStoredInputs: after the projector has seen inputs
// x_1..x_k, a projected update ΔW = P·G changes the layer's response to
// each of them, x̃ᵀΔW with x̃ = [x; 1], by a vanishing amount, while an
// unprojected one does not.
func TestOWMOrthogonalToStoredInputs(t *testing.T) {
	o := strategytest.Options{Dim: 12, Hidden: []int{8}, Classes: 4, Experiences: 2}
	s := strategytest.Stream(o)
	ctx := strategytest.Context(s, o)
	w := strategytest.New(t, "owm", `{"alpha":[1e-6],"alpha_decay":[1],"clip_norm":0}`).(*OWM)
	if err := w.Setup(ctx); err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(5, 5))
	L := w.layers[0]
	var stored [][]float32
	for range 4 {
		x := randVec(rng, L.In)
		w.UpdateProjector(0, x, 1, 1e-6)
		stored = append(stored, append(slices.Clone(x), 1))
	}
	G := randVec(rng, (L.In+1)*L.Out)
	raw := slices.Clone(G)
	w.ProjectLayer(0, G)
	response := func(x, dW []float32) float64 {
		worst := 0.0
		for j := range L.Out {
			s := 0.0
			for i, v := range x {
				s += float64(v) * float64(dW[i*L.Out+j])
			}
			worst = max(worst, math.Abs(s))
		}
		return worst
	}
	for k, x := range stored {
		got := response(x, G)
		before := response(x, raw)
		if got > 1e-3*before || got > 1e-3*norm(x)*norm(G) {
			t.Errorf("input %d: projected update changes the response by %v (unprojected %v)", k, got, before)
		}
	}
	// A fresh input is still learnable.
	fresh := append(randVec(rng, L.In), 1)
	if response(fresh, G) < 1e-2*response(fresh, raw) {
		t.Errorf("projected update has no effect on a fresh input")
	}
	// P stays symmetric.
	a := L.In + 1
	P := w.Projector(0)
	for i := range a {
		for j := range a {
			if math.Abs(P[i*a+j]-P[j*a+i]) > 1e-12 {
				t.Fatalf("P not symmetric at (%d,%d)", i, j)
			}
		}
	}
}

// TestOWMAlphaEntries: the defaults of a three-layer net fit a two-layer
// one as the authors used them (first and last entries).
func TestOWMAlphaEntries(t *testing.T) {
	c := OWMConfig{Alpha: []float64{0.9, 1, 0.6}, AlphaDecay: []float64{0.001, 0.1, 1}}
	for _, tc := range []struct{ L, l, want int }{{3, 0, 0}, {3, 1, 1}, {3, 2, 2}, {2, 0, 0}, {2, 1, 2}, {4, 2, 1}, {4, 3, 2}, {1, 0, 2}} {
		if got := c.entry(tc.l, tc.L); got != tc.want {
			t.Errorf("layer %d of %d: entry %d, want %d", tc.l, tc.L, got, tc.want)
		}
	}
}
