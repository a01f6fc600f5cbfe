package harness

import (
	"context"
	"errors"
	"reflect"
	"testing"

	"github.com/cleval/cleval/metrics"
	_ "github.com/cleval/cleval/strategies/all"
)

// memRecorder keeps everything in memory.
type memRecorder struct {
	info   metrics.RunInfo
	evals  []metrics.EvalRecord
	matrix []metrics.MatrixRecord
	ends   []int
	status metrics.RunStatus
	cause  error
	ended  int
}

func (m *memRecorder) Begin(info metrics.RunInfo) error { m.info = info; return nil }
func (m *memRecorder) Evaluations(r []metrics.EvalRecord) error {
	m.evals = append(m.evals, r...)
	return nil
}
func (m *memRecorder) Matrix(r []metrics.MatrixRecord) error {
	m.matrix = append(m.matrix, r...)
	return nil
}
func (m *memRecorder) ExperienceEnd(exp, t int) error {
	if exp != len(m.ends)+1 {
		return errors.New("experience ends out of order")
	}
	m.ends = append(m.ends, t)
	return nil
}
func (m *memRecorder) End(s metrics.RunStatus, cause error) error {
	m.status, m.cause = s, cause
	m.ended++
	return nil
}

var testData = &Data{}

// synthConfig is a small, fast run on the synthetic stream: 5 experiences
// of 2 classes, 400 training samples each, batch 64 (7 iterations per epoch).
func synthConfig(strategy string) Config {
	cfg := Config{
		Benchmark:   "split-synthetic",
		Experiences: 5,
		Hidden:      []int{32},
		Strategy:    strategy,
		Epochs:      2,
		BatchSize:   64,
		Eval:        EvalConfig{Every: 1, Size: 60, Subset: "fixed", Experiences: EvalSeen},
		Seed:        3,
	}
	cfg.Optimizer.LR = 0.05
	cfg.Optimizer.Momentum = 0.9
	return cfg
}

func runConfig(t *testing.T, ctx context.Context, cfg Config, progress func(Progress)) (*memRecorder, Result, error) {
	t.Helper()
	strat, err := cfg.Resolve()
	if err != nil {
		t.Fatal(err)
	}
	s, err := testData.Stream(&cfg)
	if err != nil {
		t.Fatal(err)
	}
	rec := &memRecorder{}
	res, err := Run(ctx, Spec{Config: cfg, Strategy: strat, Stream: s, Progress: progress}, rec)
	return rec, res, err
}

func TestRecordsFollowTheSchedule(t *testing.T) {
	for _, tc := range []struct {
		name  string
		every int
		all   bool
	}{
		{"every iteration", 1, false},
		{"every 5", 5, false},
		{"period longer than an experience", 1000, false},
		{"all experiences", 3, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := synthConfig("naive")
			cfg.Eval.Every = tc.every
			if tc.all {
				cfg.Eval.Experiences = EvalAll
			}
			rec, res, err := runConfig(t, context.Background(), cfg, nil)
			if err != nil {
				t.Fatal(err)
			}
			if res.Status != metrics.RunComplete || rec.status != metrics.RunComplete || rec.ended != 1 {
				t.Fatalf("status %s / %s, End called %d times", res.Status, rec.status, rec.ended)
			}
			// 400 samples / 64 = 7 batches, 2 epochs: 14 iterations per experience.
			wantEnds := []int{14, 28, 42, 56, 70}
			if !reflect.DeepEqual(rec.ends, wantEnds) || !reflect.DeepEqual(res.Ends, wantEnds) {
				t.Fatalf("ends %v / %v, want %v", rec.ends, res.Ends, wantEnds)
			}
			isEnd := map[int]int{}
			for k, e := range wantEnds {
				isEnd[e] = k + 1
			}
			// Expected records, point by point.
			var want []metrics.EvalRecord
			for tt := 0; tt <= 70; tt++ {
				c := 1
				if tt > 0 {
					c = (tt-1)/14 + 1
				}
				if tt != 0 && tt%tc.every != 0 && isEnd[tt] == 0 {
					continue
				}
				hi := c
				if tc.all {
					hi = 5
				} else if isEnd[tt] > 0 && c < 5 {
					hi = c + 1
				}
				for k := 1; k <= hi; k++ {
					want = append(want, metrics.EvalRecord{Iteration: tt, Training: c, Evaluated: k, Variant: "live", Total: 60, Subset: metrics.SubsetFixed})
				}
			}
			if len(rec.evals) != len(want) {
				t.Fatalf("%d records, want %d", len(rec.evals), len(want))
			}
			for i, r := range rec.evals {
				w := want[i]
				if r.Iteration != w.Iteration || r.Training != w.Training || r.Evaluated != w.Evaluated || r.Variant != w.Variant || r.Total != w.Total || r.Subset != w.Subset {
					t.Fatalf("record %d = %+v, want %+v", i, r, w)
				}
				if r.Correct < 0 || r.Correct > r.Total || !(r.LossSum > 0) {
					t.Fatalf("record %d = %+v: implausible counts", i, r)
				}
			}
			// The accuracy matrix: rows 0..5, every experience's full test split (100 samples).
			if len(rec.matrix) != 6*5 {
				t.Fatalf("%d matrix entries, want 30", len(rec.matrix))
			}
			for i, m := range rec.matrix {
				if m.Row != i/5 || m.Col != i%5+1 || m.Total != 100 {
					t.Fatalf("matrix entry %d = %+v", i, m)
				}
			}
			// The metrics are computable from what was recorded.
			if _, err := metrics.Compute(metrics.Input{NumExperiences: 5, Ends: rec.ends, Evals: rec.evals, Matrix: rec.matrix}); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestSameSeedSameRecords(t *testing.T) {
	for _, strategy := range []string{"naive", "er"} {
		cfg := synthConfig(strategy)
		a, _, err := runConfig(t, context.Background(), cfg, nil)
		if err != nil {
			t.Fatal(err)
		}
		b, _, err := runConfig(t, context.Background(), cfg, nil)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(a.evals, b.evals) || !reflect.DeepEqual(a.matrix, b.matrix) {
			t.Errorf("%s: two runs with seed %d differ", strategy, cfg.Seed)
		}
		cfg.Seed++
		c, _, err := runConfig(t, context.Background(), cfg, nil)
		if err != nil {
			t.Fatal(err)
		}
		if reflect.DeepEqual(a.evals, c.evals) {
			t.Errorf("%s: seeds %d and %d gave identical records", strategy, cfg.Seed-1, cfg.Seed)
		}
	}
}

func TestCancelledRunIsInterrupted(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cfg := synthConfig("er")
	rec, res, err := runConfig(t, ctx, cfg, func(p Progress) {
		if p.Iteration == 20 {
			cancel()
		}
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("error %v, want context.Canceled", err)
	}
	if res.Status != metrics.RunInterrupted || rec.status != metrics.RunInterrupted {
		t.Fatalf("status %s / %s, want interrupted", res.Status, rec.status)
	}
	last := rec.evals[len(rec.evals)-1].Iteration
	if last != 20 || len(rec.ends) != 1 {
		t.Errorf("last record at %d with %d experience ends, want 20 and 1", last, len(rec.ends))
	}
}

func TestDivergedRun(t *testing.T) {
	cfg := synthConfig("naive")
	cfg.Optimizer.LR = 1e30
	cfg.Optimizer.Momentum = 0
	rec, res, err := runConfig(t, context.Background(), cfg, nil)
	if !errors.Is(err, ErrDiverged) {
		t.Fatalf("error %v, want ErrDiverged", err)
	}
	if res.Status != metrics.RunDiverged || rec.status != metrics.RunDiverged {
		t.Fatalf("status %s / %s, want diverged", res.Status, rec.status)
	}
	if _, err := metrics.Compute(metrics.Input{NumExperiences: 5, Ends: rec.ends, Evals: rec.evals, Matrix: rec.matrix, Status: metrics.StatusDiverged}); err != nil {
		t.Errorf("metrics of the diverged run: %v", err)
	}
}

func TestResampledSubsets(t *testing.T) {
	cfg := synthConfig("naive")
	cfg.Eval.Subset = "resampled"
	cfg.Eval.Size = 30
	rec, _, err := runConfig(t, context.Background(), cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if rec.info.EvalSubset != metrics.SubsetResampled {
		t.Errorf("run info subset %q", rec.info.EvalSubset)
	}
	for _, r := range rec.evals {
		if r.Subset != metrics.SubsetResampled || r.Total != 30 {
			t.Fatalf("record %+v", r)
		}
	}
}

// finalAcc returns the accuracy of experience k at the last point.
func finalAcc(rec *memRecorder, k int) float64 {
	for i := len(rec.evals) - 1; i >= 0; i-- {
		if r := rec.evals[i]; r.Evaluated == k {
			return r.Accuracy()
		}
	}
	return -1
}

func TestReplayRemembersNaiveForgets(t *testing.T) {
	naive, _, err := runConfig(t, context.Background(), synthConfig("naive"), nil)
	if err != nil {
		t.Fatal(err)
	}
	cfg := synthConfig("er")
	if err := cfg.SetStrategyParam("mem_size", 200); err != nil {
		t.Fatal(err)
	}
	er, _, err := runConfig(t, context.Background(), cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	// Class-incremental fine-tuning predicts only the last classes.
	if a := finalAcc(naive, 1); a > 0.1 {
		t.Errorf("naive: final accuracy on experience 1 = %.2f, want near 0", a)
	}
	if a := finalAcc(er, 1); a < 0.5 {
		t.Errorf("er: final accuracy on experience 1 = %.2f, want well above chance", a)
	}
}

func TestConfigValidateNamesTheField(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(*Config)
		want   string
	}{
		{"benchmark", func(c *Config) { c.Benchmark = "cifar" }, "benchmark"},
		{"lr", func(c *Config) { c.Optimizer.LR = -0.1 }, "learning rate"},
		{"eval size", func(c *Config) { c.Eval.Size = 0 }, "eval.size"},
		{"eval every", func(c *Config) { c.Eval.Every = 0 }, "eval.every"},
		{"epochs", func(c *Config) { c.Epochs = 0 }, "epochs"},
		{"batch", func(c *Config) { c.BatchSize = -1 }, "batch_size"},
		{"hidden", func(c *Config) { c.Hidden = []int{0} }, "hidden"},
		{"strategy", func(c *Config) { c.Strategy = "magic" }, "unknown strategy"},
		{"strategy param", func(c *Config) { c.Strategy = "er"; c.StrategyParams = []byte(`{"lambda":2}`) }, "lambda"},
		{"unknown param", func(c *Config) { c.Strategy = "er"; c.StrategyParams = []byte(`{"lamda":0.5}`) }, "lamda"},
		{"subset", func(c *Config) { c.Eval.Subset = "some" }, "eval.subset"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := synthConfig("naive")
			tc.change(&cfg)
			err := cfg.Validate()
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("error %v, want ErrInvalid", err)
			}
			if !contains(err.Error(), tc.want) {
				t.Errorf("error %q does not name %q", err, tc.want)
			}
		})
	}
}

func contains(s, sub string) bool {
	return len(sub) == 0 || (len(s) >= len(sub) && (s[:len(sub)] == sub || contains(s[1:], sub)))
}

// TestPipelinedEvaluationIsExact: with two threads or more the continual
// evaluation runs beside training on copies of the parameters; the records
// must equal those of an evaluation in line (one thread), for variants
// (EMA) and for resampled subsets too.
func TestPipelinedEvaluationIsExact(t *testing.T) {
	for _, tc := range []struct {
		name     string
		strategy string
		params   string
		subset   string
	}{
		{"naive", "naive", "", "fixed"},
		{"er resampled", "er", `{"mem_size":100}`, "resampled"},
		{"ema over er", "ema", `{"base":"er","base_params":{"mem_size":100},"decays":[0.9,0.99]}`, "fixed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var runs []*memRecorder
			for _, threads := range []int{1, 2, 3} {
				cfg := synthConfig(tc.strategy)
				cfg.StrategyParams = []byte(tc.params)
				cfg.Eval.Subset = tc.subset
				cfg.Eval.Every = 2
				strat, err := cfg.Resolve()
				if err != nil {
					t.Fatal(err)
				}
				s, err := testData.Stream(&cfg)
				if err != nil {
					t.Fatal(err)
				}
				rec := &memRecorder{}
				if _, err := Run(context.Background(), Spec{Config: cfg, Strategy: strat, Stream: s, Threads: threads}, rec); err != nil {
					t.Fatal(err)
				}
				runs = append(runs, rec)
			}
			variants := map[string]bool{}
			for _, r := range runs[0].evals {
				variants[r.Variant] = true
			}
			if want := map[string]bool{"live": true, "ema0.9": true, "ema0.99": true}; tc.strategy == "ema" && !reflect.DeepEqual(variants, want) {
				t.Fatalf("variants %v, want %v", variants, want)
			}
			for i, threads := range []int{2, 3} {
				if !reflect.DeepEqual(runs[0].evals, runs[i+1].evals) || !reflect.DeepEqual(runs[0].matrix, runs[i+1].matrix) {
					t.Errorf("%d threads: records differ from one thread", threads)
				}
			}
		})
	}
}
