package metrics

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"gonum.org/v1/gonum/stat/distuv"
)

// TestBootstrapHandComputed checks intervals worked out by hand from the
// exact bootstrap distribution.
func TestBootstrapHandComputed(t *testing.T) {
	for _, tc := range []struct {
		name     string
		xs       []float64
		method   BootstrapMethod
		low, hi  float64
		wantMean float64
	}{
		// n = 2: resample means 0 (1/4), 1/2 (2/4), 1 (1/4). Q(0.025) = 0,
		// Q(0.975) = 1. BCa: z0 = Φ⁻¹(1/4 + (2/4)/2) = 0, a = 0: the same.
		{"two values, percentile", []float64{0, 1}, Percentile, 0, 1, 0.5},
		{"two values, BCa", []float64{0, 1}, BCa, 0, 1, 0.5},
		// n = 3, {7/8, 1, 1}: with k draws of 7/8 the mean is 1 - k/24:
		// P(k) = 8, 12, 6, 1 (/27). Q(0.025) = 7/8 (cumulative 1/27),
		// Q(0.975) = 1 (cumulative 19/27 before it). The t interval is
		// [0.779, 1.138]: past 100 %.
		{"accuracies near 1, percentile", []float64{0.875, 1, 1}, Percentile, 0.875, 1, 23.0 / 24},
		// BCa: z0 = Φ⁻¹((7 + 12/2)/27) = -0.0464, a = -0.0680; α' =
		// Φ(z0 + (z0 ∓ 1.96)/(1 - a(z0 ∓ 1.96))) = 0.0089 and 0.950:
		// Q(0.0089) = 7/8, Q(0.950) = 1.
		{"accuracies near 1, BCa", []float64{0.875, 1, 1}, BCa, 0.875, 1, 23.0 / 24},
		// n = 4, {0, 0, 0, 1}: mean k/4 with P(k) = 81, 108, 54, 12, 1
		// (/256): percentile [Q(0.025), Q(0.975)] = [0, 3/4].
		{"skewed, percentile", []float64{0, 0, 0, 1}, Percentile, 0, 0.75, 0.25},
		// BCa: z0 = Φ⁻¹((81 + 54)/256) = 0.0686, a = 0.375/(6·0.75^1.5) =
		// 0.0962; α' = 0.0628 and 0.9952: Q = 0 and 3/4.
		{"skewed, BCa", []float64{0, 0, 0, 1}, BCa, 0, 0.75, 0.25},
		// n = 4, {0, 0, 1/2, 1}: means j/8 with P = 16, 32, 56, 56, 49, 28,
		// 14, 4, 1 (/256). Percentile: Q(0.975) = 3/4 (cumulative
		// 251/256 = 0.980). BCa: θ̂ = 3/8, z0 = Φ⁻¹((104 + 56/2)/256) =
		// 0.0392, a = 0.140625/(6·0.6875^1.5) = 0.0411, so the upper
		// level is Φ(0.0392 + 1.9992/(1 - 0.0411·1.9992)) = 0.9867 >
		// 0.980: Q = 7/8. The skew moves the upper bound up.
		{"right skew, percentile", []float64{0, 0, 0.5, 1}, Percentile, 0, 0.75, 0.375},
		{"right skew, BCa", []float64{0, 0, 0.5, 1}, BCa, 0, 0.875, 0.375},
		// n = 5, {0, 0, 0, 0, 1}: means k/5, P = 1024, 1280, 640, 160, 20, 1
		// (/3125); percentile [0, 3/5], BCa (upper level 0.9968) [0, 4/5].
		{"one success in five, percentile", []float64{0, 0, 0, 0, 1}, Percentile, 0, 0.6, 0.2},
		{"one success in five, BCa", []float64{0, 0, 0, 0, 1}, BCa, 0, 0.8, 0.2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := Bootstrap(tc.xs, BootstrapOptions{Method: tc.method})
			if !b.Exact || b.N != len(tc.xs) || b.Low != tc.low || b.High != tc.hi || math.Abs(b.Mean-tc.wantMean) > 1e-15 {
				t.Errorf("Bootstrap(%v, %s) = %+v, want exact [%v, %v] mean %v", tc.xs, tc.method, b, tc.low, tc.hi, tc.wantMean)
			}
		})
	}
	// The t interval of {7/8, 1, 1} leaves [0, 1]; the bootstrap's cannot.
	if s := Summarize([]float64{0.875, 1, 1}); s.High <= 1 {
		t.Errorf("t interval %v..%v: the case no longer shows the problem", s.Low, s.High)
	}
}

// TestBootstrapEdgeCases: no values, one value, identical values, NULLs.
func TestBootstrapEdgeCases(t *testing.T) {
	nan := math.NaN()
	for _, tc := range []struct {
		name    string
		xs      []float64
		n       int
		mean    float64
		low, hi float64
	}{
		{"empty", nil, 0, nan, nan, nan},
		{"all NULL", []float64{nan, nan}, 0, nan, nan, nan},
		{"one value", []float64{0.7}, 1, 0.7, nan, nan},
		{"one value and NULLs", []float64{nan, 0.7, nan}, 1, 0.7, nan, nan},
		{"identical", []float64{0.3, 0.3, 0.3, 0.3}, 4, 0.3, 0.3, 0.3},
		{"identical, many (drawn)", slices.Repeat([]float64{0.1}, 40), 40, 0.1, 0.1, 0.1},
		{"NULL skipped", []float64{0, nan, 1}, 2, 0.5, 0, 1},
	} {
		for _, m := range []BootstrapMethod{BCa, Percentile} {
			b := Bootstrap(tc.xs, BootstrapOptions{Method: m})
			same := func(a, b float64) bool { return a == b || math.IsNaN(a) && math.IsNaN(b) || math.Abs(a-b) < 1e-15 }
			if b.N != tc.n || !same(b.Mean, tc.mean) || !same(b.Low, tc.low) || !same(b.High, tc.hi) {
				t.Errorf("%s, %s: %+v, want n %d mean %v [%v, %v]", tc.name, m, b, tc.n, tc.mean, tc.low, tc.hi)
			}
		}
	}
}

// orderedBootstrap is a reference: it enumerates all n^n ordered
// resamples (not multisets) and applies the definitions of Bootstrap
// directly. Values must be dyadic so that every sum is exact.
func orderedBootstrap(xs []float64, method BootstrapMethod) (lo, hi float64) {
	n := len(xs)
	total := int(math.Pow(float64(n), float64(n)))
	means := make([]float64, 0, total)
	idx := make([]int, n)
	for r := 0; r < total; r++ {
		s := 0.0
		for _, i := range idx {
			s += xs[i]
		}
		means = append(means, s/float64(n))
		for j := 0; j < n; j++ { // next index tuple
			idx[j]++
			if idx[j] < n {
				break
			}
			idx[j] = 0
		}
	}
	slices.Sort(means)
	q := func(p float64) float64 {
		for i, m := range means {
			if float64(i+1) >= p*float64(total) {
				return m
			}
		}
		return means[total-1]
	}
	pl, ph := 0.025, 0.975
	if method == BCa {
		theta := 0.0
		for _, x := range xs {
			theta += x
		}
		theta /= float64(n)
		below, ties := 0, 0
		for _, m := range means {
			if m == theta {
				ties++
			} else if m < theta {
				below++
			}
		}
		z0 := distuv.UnitNormal.Quantile((float64(below) + float64(ties)/2) / float64(total))
		// Jackknife acceleration from the leave-one-out means.
		jack := make([]float64, n)
		jbar := 0.0
		for i := range xs {
			s := 0.0
			for j, x := range xs {
				if j != i {
					s += x
				}
			}
			jack[i] = s / float64(n-1)
			jbar += jack[i] / float64(n)
		}
		var num, den float64
		for _, j := range jack {
			num += math.Pow(jbar-j, 3)
			den += math.Pow(jbar-j, 2)
		}
		a := num / (6 * math.Pow(den, 1.5))
		adj := func(p float64) float64 {
			z := z0 + distuv.UnitNormal.Quantile(p)
			return distuv.UnitNormal.CDF(z0 + z/(1-a*z))
		}
		pl, ph = adj(pl), adj(ph)
	}
	return q(pl), q(ph)
}

// TestBootstrapAgainstReference compares the exact multiset enumeration
// with the ordered enumeration on random dyadic samples of 2..6 values.
func TestBootstrapAgainstReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for trial := 0; trial < 60; trial++ {
		n := 2 + trial%5
		xs := make([]float64, n)
		for i := range xs {
			xs[i] = float64(rng.IntN(65)) / 64
		}
		for _, m := range []BootstrapMethod{Percentile, BCa} {
			wl, wh := orderedBootstrap(xs, m)
			b := Bootstrap(xs, BootstrapOptions{Method: m})
			if slices.Min(xs) == slices.Max(xs) {
				wl, wh = xs[0], xs[0]
			}
			if b.Low != wl || b.High != wh {
				t.Errorf("%v %s: [%v, %v], reference [%v, %v]", xs, m, b.Low, b.High, wl, wh)
			}
		}
	}
}

// TestBootstrapBounds: bootstrap intervals of accuracies stay within the
// values (so within [0, 1]) whatever the method, size and seed, and
// contain the mean.
func TestBootstrapBounds(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for trial := 0; trial < 200; trial++ {
		n := 2 + rng.IntN(30)
		xs := make([]float64, n)
		for i := range xs {
			xs[i] = math.Min(1, 0.9+0.15*rng.Float64()) // piles up at 1
		}
		for _, m := range []BootstrapMethod{BCa, Percentile} {
			b := Bootstrap(xs, BootstrapOptions{Method: m, Resamples: 2000, Seed: uint64(trial)})
			if b.Low < slices.Min(xs) || b.High > slices.Max(xs) || b.High > 1 || b.Low > b.High {
				t.Fatalf("%v %s: [%v, %v] outside the values", xs, m, b.Low, b.High)
			}
		}
	}
}

// TestBootstrapSeeded: drawn resamples depend on the seed only, and
// approximate the exact distribution.
func TestBootstrapSeeded(t *testing.T) {
	xs := make([]float64, 25)
	rng := rand.New(rand.NewPCG(5, 6))
	for i := range xs {
		xs[i] = rng.Float64()
	}
	a := Bootstrap(xs, BootstrapOptions{Seed: 7})
	b := Bootstrap(xs, BootstrapOptions{Seed: 7})
	c := Bootstrap(xs, BootstrapOptions{Seed: 8})
	if a != b {
		t.Errorf("same seed: %+v and %+v", a, b)
	}
	if a.Exact || a.Resamples != DefaultResamples {
		t.Errorf("25 values: %+v, want %d drawn resamples", a, DefaultResamples)
	}
	if a.Low == c.Low && a.High == c.High {
		t.Errorf("seeds 7 and 8 gave the same interval %+v", a)
	}
	// Eight values: 6435 multisets, exact at 10000 resamples; 5000 drawn
	// resamples approximate it.
	xs = xs[:8]
	exact := Bootstrap(xs, BootstrapOptions{})
	if !exact.Exact {
		t.Fatalf("8 values at 10000 resamples: not exact")
	}
	drawn := Bootstrap(xs, BootstrapOptions{Resamples: 5000, Seed: 1})
	if drawn.Exact || math.Abs(drawn.Low-exact.Low) > 0.02 || math.Abs(drawn.High-exact.High) > 0.02 {
		t.Errorf("5000 drawn resamples [%v, %v], exact [%v, %v]", drawn.Low, drawn.High, exact.Low, exact.High)
	}
	if m := multisets(8, 1<<30); m != 6435 {
		t.Errorf("multisets(8) = %d, want 6435", m)
	}
}
