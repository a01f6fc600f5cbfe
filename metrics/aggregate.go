package metrics

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"

	"gonum.org/v1/gonum/stat/distuv"
)

// Confidence is the coverage of every interval in this file: 95 %.
const Confidence = 0.95

// z975 is the 0.975 quantile of the standard normal distribution (Wilson
// interval).
const z975 = 1.959963984540054

// Summary describes one metric across seeds (docs/metrics.md, "Across
// seeds").
// Undefined fields are NaN: SD and the interval when N < 2, everything when
// N = 0.
type Summary struct {
	// N is the number of defined values (NaN inputs, i.e. NULL metrics,
	// are not counted; Nulls counts them).
	N     int
	Nulls int
	Mean  float64
	// SD is the sample standard deviation (divisor N - 1).
	SD float64
	// Low and High bound the 95 % Student-t interval
	// Mean ± t_{0.975, N-1} · SD / sqrt(N).
	Low, High float64
}

// HalfWidth returns (High - Low) / 2, NaN when the interval is undefined.
func (s Summary) HalfWidth() float64 { return (s.High - s.Low) / 2 }

// TQuantile returns the p quantile of Student's t distribution with df
// degrees of freedom (df >= 1, 0 < p < 1).
func TQuantile(p float64, df int) float64 {
	if df < 1 || !(p > 0 && p < 1) {
		panic(fmt.Sprintf("metrics: TQuantile(%v, %d): want 0 < p < 1 and df >= 1", p, df))
	}
	return distuv.StudentsT{Mu: 0, Sigma: 1, Nu: float64(df)}.Quantile(p)
}

// meanSD returns the mean and the sample standard deviation (NaN for n < 2)
// of xs, which has no NaN. When every value is equal the mean is that value
// and the deviation exactly 0, whatever the rounding of a sum would give.
func meanSD(xs []float64) (mean, sd float64) {
	n := len(xs)
	if n == 0 {
		return math.NaN(), math.NaN()
	}
	lo, hi, sum := xs[0], xs[0], 0.0
	for _, x := range xs {
		lo, hi = math.Min(lo, x), math.Max(hi, x)
		sum += x
	}
	if n == 1 {
		return xs[0], math.NaN()
	}
	if lo == hi {
		return lo, 0
	}
	mean = sum / float64(n)
	// Two-pass with the compensating term (Chan, Golub & LeVeque): the
	// second sum corrects the rounding of the first mean.
	var ss, comp float64
	for _, x := range xs {
		d := x - mean
		ss += d * d
		comp += d
	}
	mean += comp / float64(n)
	ss -= comp * comp / float64(n)
	return mean, math.Sqrt(math.Max(ss, 0) / float64(n-1))
}

// Summarize returns n, mean, sample standard deviation and the 95 % Student-t
// confidence interval of xs. NaN values stand for NULL metrics: they are
// skipped and counted in Nulls. No interval is given for n < 2; for n >= 2
// with all values equal the interval is [mean, mean].
func Summarize(xs []float64) Summary {
	vals := make([]float64, 0, len(xs))
	nulls := 0
	for _, x := range xs {
		if math.IsNaN(x) {
			nulls++
			continue
		}
		vals = append(vals, x)
	}
	nan := math.NaN()
	s := Summary{N: len(vals), Nulls: nulls, Mean: nan, SD: nan, Low: nan, High: nan}
	if s.N == 0 {
		return s
	}
	s.Mean, s.SD = meanSD(vals)
	if s.N >= 2 {
		h := TQuantile(0.5+Confidence/2, s.N-1) * s.SD / math.Sqrt(float64(s.N))
		s.Low, s.High = s.Mean-h, s.Mean+h
	}
	return s
}

// PairedTest is a paired t-test of two configurations run on the same
// seeds: the statistics of the per-seed differences a_i - b_i. Undefined
// fields are NaN (everything but N and MeanDiff when N = 1).
type PairedTest struct {
	N        int
	MeanDiff float64
	// SD is the sample standard deviation of the differences.
	SD float64
	// Low and High bound the 95 % Student-t interval of the mean difference.
	Low, High float64
	// T is the t statistic MeanDiff / (SD / sqrt(N)) with N - 1 degrees of
	// freedom; P its two-sided p-value.
	T, P float64
}

// PairedT tests the per-seed differences a[i] - b[i]. a and b must have the
// same length (it panics otherwise); pairs where either value is NaN are
// dropped. When every difference is equal (SD = 0) the test degenerates:
// a zero mean difference gives T = 0 and P = 1, a non-zero one T = ±Inf and
// P = 0, and the interval is [MeanDiff, MeanDiff].
func PairedT(a, b []float64) PairedTest {
	if len(a) != len(b) {
		panic(fmt.Sprintf("metrics: PairedT: %d values against %d", len(a), len(b)))
	}
	d := make([]float64, 0, len(a))
	for i := range a {
		if math.IsNaN(a[i]) || math.IsNaN(b[i]) {
			continue
		}
		d = append(d, a[i]-b[i])
	}
	nan := math.NaN()
	pt := PairedTest{N: len(d), MeanDiff: nan, SD: nan, Low: nan, High: nan, T: nan, P: nan}
	if pt.N == 0 {
		return pt
	}
	pt.MeanDiff, pt.SD = meanSD(d)
	if pt.N < 2 {
		return pt
	}
	se := pt.SD / math.Sqrt(float64(pt.N))
	df := pt.N - 1
	h := TQuantile(0.5+Confidence/2, df) * se
	pt.Low, pt.High = pt.MeanDiff-h, pt.MeanDiff+h
	switch {
	case se == 0 && pt.MeanDiff == 0:
		pt.T, pt.P = 0, 1
	case se == 0:
		pt.T, pt.P = math.Copysign(math.Inf(1), pt.MeanDiff), 0
	default:
		pt.T = pt.MeanDiff / se
		pt.P = 2 * distuv.StudentsT{Mu: 0, Sigma: 1, Nu: float64(df)}.Survival(math.Abs(pt.T))
	}
	return pt
}

// Proportion is a fraction of successes with its Wilson score interval.
type Proportion struct {
	Successes, N int
	// P is Successes / N; Low and High bound the 95 % Wilson interval. All
	// NaN when N = 0.
	P, Low, High float64
}

// Wilson returns successes / n with its 95 % Wilson score interval, which
// unlike the normal approximation stays inside [0, 1] and is not empty at 0
// or n successes. It panics unless 0 <= successes <= n.
func Wilson(successes, n int) Proportion {
	if n < 0 || successes < 0 || successes > n {
		panic(fmt.Sprintf("metrics: Wilson(%d, %d): want 0 <= successes <= n", successes, n))
	}
	nan := math.NaN()
	pr := Proportion{Successes: successes, N: n, P: nan, Low: nan, High: nan}
	if n == 0 {
		return pr
	}
	fn := float64(n)
	p := float64(successes) / fn
	z2 := z975 * z975
	den := 1 + z2/fn
	center := (p + z2/(2*fn)) / den
	half := z975 / den * math.Sqrt(p*(1-p)/fn+z2/(4*fn*fn))
	pr.P = p
	pr.Low, pr.High = math.Max(0, center-half), math.Min(1, center+half)
	// The bounds are exact at 0 and n successes; do not let rounding move
	// them.
	if successes == 0 {
		pr.Low = 0
	}
	if successes == n {
		pr.High = 1
	}
	return pr
}

// ConfigGroup returns the identity of a run's configuration apart from its
// seed: the configuration JSON object without its "seed" and "preset"
// fields, with keys sorted at every level (canonical), and a short hash of
// it. Runs with the same key differ only by their seed, so their metrics
// are samples of one distribution and are aggregated together.
func ConfigGroup(config []byte) (key string, canonical []byte, err error) {
	dec := json.NewDecoder(bytes.NewReader(config))
	dec.UseNumber() // keep numbers as written: 0.1 stays 0.1
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		return "", nil, fmt.Errorf("metrics: configuration is not a JSON object: %v", err)
	}
	delete(m, "seed")
	delete(m, "preset")
	canonical, err = json.Marshal(m) // map keys marshal sorted
	if err != nil {
		return "", nil, fmt.Errorf("metrics: configuration: %v", err)
	}
	sum := sha256.Sum256(canonical)
	return hex.EncodeToString(sum[:])[:12], canonical, nil
}
