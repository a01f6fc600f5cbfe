package metrics

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"

	"gonum.org/v1/gonum/stat/distuv"
)

// BootstrapMethod selects how a bootstrap interval is read off the
// bootstrap distribution of the mean.
type BootstrapMethod int

const (
	// BCa is the bias-corrected and accelerated interval (Efron 1987): the
	// percentiles are shifted by the median bias z0 of the bootstrap
	// distribution and by the acceleration a (the skewness of the
	// jackknife means). The default.
	BCa BootstrapMethod = iota
	// Percentile is the plain percentile interval: the 2.5 % and 97.5 %
	// quantiles of the bootstrap distribution.
	Percentile
)

func (m BootstrapMethod) String() string {
	switch m {
	case BCa:
		return "BCa"
	case Percentile:
		return "percentile"
	}
	return fmt.Sprintf("BootstrapMethod(%d)", int(m))
}

// DefaultResamples is the number of bootstrap resamples when
// BootstrapOptions.Resamples is 0.
const DefaultResamples = 10000

// BootstrapOptions configures Bootstrap. The zero value is the BCa
// interval from 10 000 resamples drawn with seed 0.
type BootstrapOptions struct {
	Method BootstrapMethod
	// Resamples is the number of resamples B (0 means DefaultResamples).
	// When a sample of n values has no more distinct resamples (multisets
	// of n of its values, C(2n-1, n): 10 for n = 3, 6435 for n = 8) than
	// B, they are all enumerated with their multinomial probabilities
	// instead: the exact bootstrap distribution, which B random resamples
	// only approximate.
	Resamples int
	// Seed seeds the resampling (PCG); the same seed and values give the
	// same interval.
	Seed uint64
}

// BootstrapInterval is a 95 % bootstrap confidence interval of a mean.
type BootstrapInterval struct {
	// N is the number of values (NaN inputs are not counted).
	N    int
	Mean float64
	// Low and High bound the interval; NaN for N < 2. Both are means of
	// resamples, so they lie within [min, max] of the values: an interval
	// of accuracies never leaves [0, 1].
	Low, High float64
	// Exact reports that every distinct resample was enumerated.
	Exact bool
	// Resamples is the number of resamples drawn (0 when Exact).
	Resamples int
}

// maxExact bounds n for the exact enumeration (C(2n-1, n) grows fast and
// n^n must fit an int64).
const maxExact = 12

// multisets returns C(2n-1, n), the number of distinct resamples of n
// values, or -1 when it exceeds limit.
func multisets(n, limit int) int {
	c := 1 // C(n-1+k, k) for k = 0..n
	for k := 1; k <= n; k++ {
		c = c * (n - 1 + k) / k
		if c > limit {
			return -1
		}
	}
	return c
}

// Bootstrap returns the 95 % bootstrap confidence interval of the mean of
// xs (NaN values, i.e. NULL metrics, are skipped). Resampling is over the
// values, so for a metric over seeds it resamples seeds; for a paired
// comparison pass the per-seed differences. All values equal give the
// interval [mean, mean]; fewer than two values give none.
//
// Definitions (for hand computation): each resample is a multiset of n
// values with counts c_i; its mean is (Σ c_i x_i)/n, summed in the order
// of xs. The bootstrap distribution gives each resample its probability
// (n!/Π c_i!)/n^n when enumerated, 1/B when drawn. The q quantile is the
// smallest resample mean whose cumulative probability is at least q. The
// percentile interval is [Q(0.025), Q(0.975)]. BCa uses
// z0 = Φ⁻¹(P(θ* < θ̂) + P(θ* = θ̂)/2) (θ̂ the sample mean; resample means
// within 1e-12 of it count as equal) and
// a = Σ d_i³ / (6 (Σ d_i²)^{3/2}) with d_i = x_i − θ̂ (the jackknife
// acceleration of the mean), and reads Q at
// α' = Φ(z0 + (z0 + z_α)/(1 − a(z0 + z_α))) for α = 0.025 and 0.975 (when
// 1 − a(z0 + z_α) <= 0, α' is 0 or 1, its limit). When z0 is infinite
// (every resample mean on one side) BCa falls back to the percentile
// interval.
func Bootstrap(xs []float64, opt BootstrapOptions) BootstrapInterval {
	vals := make([]float64, 0, len(xs))
	for _, x := range xs {
		if !math.IsNaN(x) {
			vals = append(vals, x)
		}
	}
	n := len(vals)
	nan := math.NaN()
	out := BootstrapInterval{N: n, Mean: nan, Low: nan, High: nan}
	if n == 0 {
		return out
	}
	out.Mean, _ = meanSD(vals)
	if n < 2 {
		return out
	}
	lo, hi := slices.Min(vals), slices.Max(vals)
	if lo == hi {
		out.Low, out.High = lo, lo
		return out
	}
	B := opt.Resamples
	if B <= 0 {
		B = DefaultResamples
	}
	theta := resampleMean(vals, nil)
	var dist []weighted
	var total float64
	if m := multisets(n, B); n <= maxExact && m > 0 {
		dist, total = exactDistribution(vals)
		out.Exact = true
	} else {
		dist, total = drawDistribution(vals, B, opt.Seed)
		out.Resamples = B
	}
	for i := range dist {
		// A resample mean is a mean of the values; keep rounding from
		// putting it an ulp outside them.
		dist[i].v = min(max(dist[i].v, lo), hi)
	}
	slices.SortFunc(dist, func(a, b weighted) int {
		switch {
		case a.v < b.v:
			return -1
		case a.v > b.v:
			return 1
		}
		return 0
	})
	q := func(p float64) float64 {
		need := p * total
		cum := 0.0
		for _, d := range dist {
			cum += d.w
			if cum >= need {
				return d.v
			}
		}
		return dist[len(dist)-1].v
	}
	alpha := (1 - Confidence) / 2
	pLo, pHi := alpha, 1-alpha
	if opt.Method == BCa {
		below, ties := 0.0, 0.0
		tol := 1e-12 * math.Max(1, math.Abs(theta))
		for _, d := range dist {
			switch {
			case math.Abs(d.v-theta) <= tol:
				ties += d.w
			case d.v < theta:
				below += d.w
			}
		}
		z0 := distuv.UnitNormal.Quantile((below + ties/2) / total)
		var s2, s3 float64
		for _, x := range vals {
			d := x - theta
			s2 += d * d
			s3 += d * d * d
		}
		a := s3 / (6 * math.Pow(s2, 1.5))
		if !math.IsInf(z0, 0) && !math.IsNaN(z0) && !math.IsNaN(a) {
			adj := func(p float64) float64 {
				z := z0 + distuv.UnitNormal.Quantile(p)
				den := 1 - a*z
				if den <= 0 {
					if z > 0 {
						return 1
					}
					return 0
				}
				return distuv.UnitNormal.CDF(z0 + z/den)
			}
			pLo, pHi = adj(alpha), adj(1-alpha)
		}
	}
	out.Low, out.High = q(pLo), q(pHi)
	return out
}

// weighted is a resample mean with its (unnormalised) probability.
type weighted struct{ v, w float64 }

// resampleMean returns (Σ c_i x_i)/n, with c_i = 1 when counts is nil.
func resampleMean(xs []float64, counts []int) float64 {
	s := 0.0
	for i, x := range xs {
		if counts == nil {
			s += x
		} else if counts[i] > 0 {
			s += float64(counts[i]) * x
		}
	}
	return s / float64(len(xs))
}

// exactDistribution enumerates every multiset of n values of xs with its
// multinomial count n!/Π c_i! (out of n^n).
func exactDistribution(xs []float64) ([]weighted, float64) {
	n := len(xs)
	fact := make([]float64, n+1)
	fact[0] = 1
	for i := 1; i <= n; i++ {
		fact[i] = fact[i-1] * float64(i)
	}
	counts := make([]int, n)
	var out []weighted
	var rec func(i, left int)
	rec = func(i, left int) {
		if i == n-1 {
			counts[i] = left
			w := fact[n]
			for _, c := range counts {
				w /= fact[c]
			}
			out = append(out, weighted{resampleMean(xs, counts), math.Round(w)})
			return
		}
		for c := left; c >= 0; c-- {
			counts[i] = c
			rec(i+1, left-c)
		}
	}
	rec(0, n)
	return out, math.Pow(float64(n), float64(n))
}

// drawDistribution draws B resamples with a PCG seeded by seed.
func drawDistribution(xs []float64, B int, seed uint64) ([]weighted, float64) {
	n := len(xs)
	rng := rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15))
	counts := make([]int, n)
	out := make([]weighted, B)
	for b := range out {
		clear(counts)
		for range n {
			counts[rng.IntN(n)]++
		}
		out[b] = weighted{resampleMean(xs, counts), 1}
	}
	return out, float64(B)
}
