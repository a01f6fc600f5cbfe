package metrics

import (
	"math"
	"testing"
)

// Student-t 0.975 quantiles from printed tables (e.g. NIST/SEMATECH e-Handbook
// of Statistical Methods, table 1.3.6.7.2), to more digits than the tables
// print.
const (
	t975df1 = 12.706204736174698
	t975df2 = 4.302652729749464
	t975df4 = 2.7764451051977934
)

func aggNear(got, want, tol float64) bool {
	if math.IsNaN(want) {
		return math.IsNaN(got)
	}
	if math.IsInf(want, 0) {
		return got == want
	}
	return math.Abs(got-want) <= tol
}

func TestTQuantile(t *testing.T) {
	for _, tc := range []struct {
		df   int
		want float64
	}{{1, t975df1}, {2, t975df2}, {4, t975df4}, {30, 2.0422724563012373}} {
		if got := TQuantile(0.975, tc.df); !aggNear(got, tc.want, 1e-9) {
			t.Errorf("TQuantile(0.975, %d) = %v, want %v", tc.df, got, tc.want)
		}
	}
}

func TestSummarize(t *testing.T) {
	nan := math.NaN()
	for _, tc := range []struct {
		name           string
		xs             []float64
		n, nulls       int
		mean, sd       float64
		low, high      float64
		exactMeanAndSD bool
	}{
		{name: "empty", xs: nil, mean: nan, sd: nan, low: nan, high: nan},
		{name: "only nulls", xs: []float64{nan, nan}, nulls: 2, mean: nan, sd: nan, low: nan, high: nan},
		// n = 1: a mean, no deviation, no interval.
		{name: "n=1", xs: []float64{0.42}, n: 1, mean: 0.42, sd: nan, low: nan, high: nan, exactMeanAndSD: true},
		// n = 2: sd = |0.7-0.5|/sqrt(2) = 0.141421..., sd/sqrt(2) = 0.1,
		// half-width = t(0.975, 1) * 0.1.
		{name: "n=2", xs: []float64{0.5, 0.7}, n: 2, mean: 0.6, sd: math.Sqrt2 / 10,
			low: 0.6 - t975df1*0.1, high: 0.6 + t975df1*0.1},
		// 1..5: mean 3, variance 10/4 = 2.5, sd/sqrt(5) = sqrt(0.5).
		{name: "n=5", xs: []float64{1, 2, 3, 4, 5}, n: 5, mean: 3, sd: math.Sqrt(2.5),
			low: 3 - t975df4*math.Sqrt(0.5), high: 3 + t975df4*math.Sqrt(0.5)},
		// Identical values: sd exactly 0, the interval collapses (0.3 * 3
		// does not sum to 0.9 in floating point; the result must still be
		// exact).
		{name: "identical", xs: []float64{0.3, 0.3, 0.3}, n: 3, mean: 0.3, sd: 0, low: 0.3, high: 0.3, exactMeanAndSD: true},
		// NULL values are skipped and counted.
		{name: "with null", xs: []float64{0.2, nan, 0.4}, n: 2, nulls: 1, mean: 0.3, sd: math.Sqrt2 / 10,
			low: 0.3 - t975df1*0.1, high: 0.3 + t975df1*0.1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := Summarize(tc.xs)
			if s.N != tc.n || s.Nulls != tc.nulls {
				t.Fatalf("N, Nulls = %d, %d, want %d, %d", s.N, s.Nulls, tc.n, tc.nulls)
			}
			tol := 1e-12
			if tc.exactMeanAndSD {
				tol = 0
			}
			if !aggNear(s.Mean, tc.mean, tol) || !aggNear(s.SD, tc.sd, tol) {
				t.Errorf("mean, sd = %v, %v, want %v, %v", s.Mean, s.SD, tc.mean, tc.sd)
			}
			if !aggNear(s.Low, tc.low, 1e-9) || !aggNear(s.High, tc.high, 1e-9) {
				t.Errorf("CI = [%v, %v], want [%v, %v]", s.Low, s.High, tc.low, tc.high)
			}
		})
	}
}

func TestPairedT(t *testing.T) {
	nan, inf := math.NaN(), math.Inf(1)
	for _, tc := range []struct {
		name      string
		a, b      []float64
		n         int
		mean, sd  float64
		low, high float64
		tstat, p  float64
	}{
		{name: "empty", mean: nan, sd: nan, low: nan, high: nan, tstat: nan, p: nan},
		{name: "n=1", a: []float64{0.9}, b: []float64{0.7}, n: 1, mean: 0.9 - 0.7, sd: nan, low: nan, high: nan, tstat: nan, p: nan},
		// d = {1, 2}: mean 1.5, sd 1/sqrt(2), se 0.5, t = 3 with 1 df
		// (Cauchy): p = 1 - 2 atan(3) / pi.
		{name: "n=2", a: []float64{1, 2}, b: []float64{0, 0}, n: 2, mean: 1.5, sd: 1 / math.Sqrt2,
			low: 1.5 - t975df1*0.5, high: 1.5 + t975df1*0.5, tstat: 3, p: 1 - 2*math.Atan(3)/math.Pi},
		// d = {0.2, 0.05, 0.25}: mean 1/6, variance 13/1200, t^2 = 100/13;
		// with 2 df, P(|T| > t) = 1 - t / sqrt(2 + t^2) = 1 - sqrt(100/126).
		{name: "n=3", a: []float64{0.9, 0.8, 0.85}, b: []float64{0.7, 0.75, 0.6}, n: 3, mean: 1.0 / 6, sd: math.Sqrt(13.0 / 1200),
			low:   1.0/6 - t975df2*math.Sqrt(13.0/1200)/math.Sqrt(3),
			high:  1.0/6 + t975df2*math.Sqrt(13.0/1200)/math.Sqrt(3),
			tstat: math.Sqrt(100.0 / 13), p: 1 - math.Sqrt(100.0/126)},
		// Identical configurations: no difference at all.
		{name: "identical", a: []float64{0.5, 0.6, 0.7}, b: []float64{0.5, 0.6, 0.7}, n: 3, mean: 0, sd: 0, low: 0, high: 0, tstat: 0, p: 1},
		// A constant non-zero difference.
		{name: "constant shift", a: []float64{1, 2, 3}, b: []float64{0.5, 1.5, 2.5}, n: 3, mean: 0.5, sd: 0, low: 0.5, high: 0.5, tstat: inf, p: 0},
		// A pair with a NULL is dropped; the rest is the n=2 case.
		{name: "null pair", a: []float64{1, nan, 2}, b: []float64{0, 0.3, 0}, n: 2, mean: 1.5, sd: 1 / math.Sqrt2,
			low: 1.5 - t975df1*0.5, high: 1.5 + t975df1*0.5, tstat: 3, p: 1 - 2*math.Atan(3)/math.Pi},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pt := PairedT(tc.a, tc.b)
			if pt.N != tc.n {
				t.Fatalf("N = %d, want %d", pt.N, tc.n)
			}
			for _, f := range []struct {
				what      string
				got, want float64
			}{{"mean", pt.MeanDiff, tc.mean}, {"sd", pt.SD, tc.sd}, {"low", pt.Low, tc.low}, {"high", pt.High, tc.high}, {"t", pt.T, tc.tstat}, {"p", pt.P, tc.p}} {
				if !aggNear(f.got, f.want, 1e-9) {
					t.Errorf("%s = %v, want %v", f.what, f.got, f.want)
				}
			}
		})
	}
}

func TestPairedTPanicsOnLengthMismatch(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("no panic")
		}
	}()
	PairedT([]float64{1}, []float64{1, 2})
}

func TestWilson(t *testing.T) {
	z2 := z975 * z975
	for _, tc := range []struct {
		k, n      int
		p         float64
		low, high float64
		tol       float64
	}{
		// Published: 8/10 -> [0.4902, 0.9433] (Newcombe 1998, Table I
		// style; also any Wilson calculator).
		{8, 10, 0.8, 0.4902, 0.9433, 5e-5},
		// At 0 and n successes the interval is [0, z²/(n+z²)] and
		// [n/(n+z²), 1].
		{0, 3, 0, 0, z2 / (3 + z2), 1e-12},
		{3, 3, 1, 3 / (3 + z2), 1, 1e-12},
		{1, 1, 1, 1 / (1 + z2), 1, 1e-12},
		// 2/3: center (2/3 + z²/6) / (1 + z²/3), half z/(1+z²/3) sqrt(2/27 + z²/36).
		{2, 3, 2.0 / 3, (2.0/3+z2/6)/(1+z2/3) - z975/(1+z2/3)*math.Sqrt(2.0/27+z2/36),
			(2.0/3+z2/6)/(1+z2/3) + z975/(1+z2/3)*math.Sqrt(2.0/27+z2/36), 1e-12},
		{0, 0, math.NaN(), math.NaN(), math.NaN(), 0},
	} {
		pr := Wilson(tc.k, tc.n)
		if !aggNear(pr.P, tc.p, 1e-12) || !aggNear(pr.Low, tc.low, tc.tol) || !aggNear(pr.High, tc.high, tc.tol) {
			t.Errorf("Wilson(%d, %d) = %v [%v, %v], want %v [%v, %v]", tc.k, tc.n, pr.P, pr.Low, pr.High, tc.p, tc.low, tc.high)
		}
	}
}

func TestConfigGroup(t *testing.T) {
	a := `{"preset":"p1","benchmark":"split-mnist","optimizer":{"momentum":0.9,"lr":0.1},"seed":3}`
	b := `{"seed":7,"optimizer":{"lr":0.1,"momentum":0.9},"benchmark":"split-mnist"}`
	c := `{"seed":7,"optimizer":{"lr":0.01,"momentum":0.9},"benchmark":"split-mnist"}`
	ka, canon, err := ConfigGroup([]byte(a))
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"benchmark":"split-mnist","optimizer":{"lr":0.1,"momentum":0.9}}`; string(canon) != want {
		t.Errorf("canonical = %s, want %s", canon, want)
	}
	kb, _, _ := ConfigGroup([]byte(b))
	kc, _, _ := ConfigGroup([]byte(c))
	if ka != kb {
		t.Errorf("seed and preset changed the key: %s != %s", ka, kb)
	}
	if ka == kc {
		t.Errorf("lr did not change the key")
	}
	if _, _, err := ConfigGroup([]byte(`[1]`)); err == nil {
		t.Error("no error for a JSON array")
	}
}
