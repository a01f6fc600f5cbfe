package harness

import (
	"errors"
	"math"
	"strings"
	"testing"
)

func TestRangeContains(t *testing.T) {
	inf, nan := math.Inf(1), math.NaN()
	for _, tc := range []struct {
		r    Range
		in   []float64
		out  []float64
		text string
	}{
		{Range{Min: 1, Max: 10, Integer: true}, []float64{1, 5, 10}, []float64{0, -1, 1.5, 11, nan, inf, -inf, math.MaxFloat64}, "an integer from 1 to 10"},
		{Range{Min: 1, Max: 10, Integer: true, Zero: "the default"}, []float64{0, 1, 10}, []float64{-1, 0.5, 11, nan}, "an integer from 1 to 10, or 0 for the default"},
		{Range{Min: 0, Max: 1, MaxOpen: true}, []float64{0, 0.5, math.Nextafter(1, 0)}, []float64{1, -1e-300, nan, inf}, "a number in [0, 1)"},
		{Range{Min: 0, Max: math.MaxFloat64, MinOpen: true}, []float64{1e-300, 1e300, math.MaxFloat64}, []float64{0, -1, nan, inf, -inf}, "a finite number > 0"},
		{Range{Min: -math.MaxFloat64, Max: math.MaxFloat64}, []float64{-1e300, 0, 1e300}, []float64{nan, inf, -inf}, "a finite number"},
		{Range{Min: 1, Max: math.MaxInt64, Integer: true}, []float64{1, 1e18}, []float64{0, -5, nan}, "an integer >= 1"},
	} {
		for _, v := range tc.in {
			if !tc.r.Contains(v) {
				t.Errorf("%s: %v refused", tc.text, v)
			}
		}
		for _, v := range tc.out {
			if tc.r.Contains(v) {
				t.Errorf("%s: %v accepted", tc.text, v)
			}
		}
		if got := tc.r.String(); got != tc.text {
			t.Errorf("String() = %q, want %q", got, tc.text)
		}
	}
	err := fieldRanges["epochs"].CheckInt("epochs", 922337203685477580)
	if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "epochs 922337203685477580: must be an integer from 1 to 1000000") {
		t.Errorf("CheckInt: %v", err)
	}
}

// TestValidateRefusesNonFiniteAndHugeValues: Validate names the field of
// a value out of its range (non-finite numbers included: they would make
// the configuration's JSON panic) before anything derived from it.
func TestValidateRefusesNonFiniteAndHugeValues(t *testing.T) {
	for _, tc := range []struct {
		name string
		set  func(*Config)
		want string
	}{
		{"lr inf", func(c *Config) { c.Optimizer.LR = math.Inf(1) }, "optimizer.lr +Inf (learning rate)"},
		{"weight decay inf", func(c *Config) { c.Optimizer.WeightDecay = math.Inf(1) }, "optimizer.weight_decay +Inf"},
		{"momentum NaN", func(c *Config) { c.Optimizer.Momentum = math.NaN() }, "optimizer.momentum NaN"},
		{"blur NaN", func(c *Config) { c.Blur = math.NaN() }, "blur NaN"},
		{"angles inf", func(c *Config) { c.Angles = []float64{0, math.Inf(-1)} }, "angles [0 -Inf]"},
		{"epochs overflow", func(c *Config) { c.Epochs = 922337203685477580 }, "epochs 922337203685477580"},
		{"batch size huge", func(c *Config) { c.BatchSize = 99999999999 }, "batch_size 99999999999: must be an integer from 1 to 16777216"},
		{"hidden huge", func(c *Config) { c.Hidden = []int{100000000} }, "hidden [100000000]: every value must be an integer from 1 to 16777216"},
		{"eval every", func(c *Config) { c.Eval.Every = -1 }, "eval.every -1"},
		{"task distance", func(c *Config) { c.Benchmark = "gaussian"; c.Synthetic = &SyntheticConfig{TaskDistance: math.Inf(1)} }, "synthetic.task_distance +Inf"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := synthConfig("naive")
			tc.set(&cfg)
			err := cfg.Validate()
			if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Validate: %v, want an ErrInvalid naming %q", err, tc.want)
			}
		})
	}
}

// TestUpdatesAreCountedWithoutOverflow: a run whose update count overflows
// an int64 (epochs × batches × repeat) is refused with the limit, and the
// limit itself is accepted.
func TestUpdatesAreCountedWithoutOverflow(t *testing.T) {
	cfg := synthConfig("naive")
	s, err := testData.Stream(&cfg)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Epochs, cfg.Repeat, cfg.BatchSize = MaxEpochs, MaxRepeat, 1
	err = checkUpdates(&cfg, s)
	if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "at most 2147483647") {
		t.Errorf("huge schedule: %v", err)
	}
	cfg = synthConfig("naive")
	cfg.Iterations = MaxUpdates / len(s.Experiences)
	if err := checkUpdates(&cfg, s); err != nil {
		t.Errorf("%d iterations per experience: %v", cfg.Iterations, err)
	}
	if satMul(math.MaxInt64/2, 3) != math.MaxInt64 || satAdd(math.MaxInt64, 1) != math.MaxInt64 || satMul(6, 7) != 42 {
		t.Error("saturating arithmetic")
	}
}

// TestMemoryEstimate: the reference model's estimate is of the order of
// its real size, and a model too large for any machine is refused with the
// estimate, before anything is allocated.
func TestMemoryEstimate(t *testing.T) {
	cfg := synthConfig("er")
	cfg.Hidden = []int{400, 400}
	cfg.BatchSize = 256
	if _, err := cfg.Resolve(); err != nil {
		t.Fatal(err)
	}
	s, err := testData.Stream(&cfg)
	if err != nil {
		t.Fatal(err)
	}
	// 64·400 + 400·400 + 400·10 weights: 0.19 M parameters, 0.75 MB each copy.
	m := EstimateMemory(&cfg, s)
	if m.Base < 1<<20 || m.Base > 64<<20 || m.PerUnit < 1<<20 || m.PerUnit > 16<<20 {
		t.Errorf("estimate %+v: outside [1 MiB, 64 MiB] and [1 MiB, 16 MiB]", m)
	}
	if m.Total(8) <= m.Total(1) {
		t.Errorf("threads do not add evaluation units: %d, %d", m.Total(1), m.Total(8))
	}
	cfg.Hidden = []int{MaxSize, MaxSize}
	err = CheckRun(&cfg, s, 1, 1)
	if MemoryLimit() > 0 && (!errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "of memory")) {
		t.Errorf("a 2^48-parameter model: %v", err)
	}
	if got := FormatBytes(24 << 30); got != "24.0 GiB" {
		t.Errorf("FormatBytes: %s", got)
	}
}
