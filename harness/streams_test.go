package harness

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/cleval/cleval/datasets"
	"github.com/cleval/cleval/metrics"
	"github.com/cleval/cleval/nn"
	"github.com/cleval/cleval/strategies"
	"github.com/cleval/cleval/streams"
)

// probe is a test strategy: naive fine-tuning that records every call.
type probe struct {
	ws      *nn.Workspace
	before  []int
	after   []int
	steps   []probeStep
	current []int // ctx.Current.ID at each step
}

type probeStep struct {
	exp, repeat, n int
	pos, sources   []int32
	iteration      int
}

// lastProbe is the probe of the latest run, set by Setup (tests run
// sequentially; other probes are built only to be checked).
var lastProbe *probe

func init() {
	strategies.Register(strategies.Def[struct{}]{
		Name:    "harness-test-probe",
		Summary: "test strategy: naive, recording every call",
		New:     func(*struct{}) (strategies.Strategy, error) { return &probe{}, nil },
	})
}

func (p *probe) Setup(ctx *strategies.Context) error {
	lastProbe = p
	p.ws = ctx.Model.NewWorkspace(ctx.BatchSize)
	return nil
}
func (p *probe) BeforeExperience(_ *strategies.Context, e *streams.Experience) error {
	p.before = append(p.before, e.ID)
	return nil
}
func (p *probe) AfterExperience(_ *strategies.Context, e *streams.Experience) error {
	p.after = append(p.after, e.ID)
	return nil
}
func (p *probe) Step(ctx *strategies.Context, b *streams.Batch) (strategies.StepResult, error) {
	p.steps = append(p.steps, probeStep{exp: b.Experience, repeat: b.Repeat, n: b.N, pos: slices.Clone(b.Pos[:b.N]),
		sources: slices.Clone(b.Sources), iteration: ctx.Iteration})
	p.current = append(p.current, ctx.Current.ID)
	loss := strategies.WeightedStep(ctx, p.ws, b.X, b.Y, strategies.Segment{N: b.N, Weight: 1, Mask: b.Mask})
	return strategies.StepResult{Loss: loss}, nil
}

// run validates cfg, builds its stream and runs it.
func runStream(t *testing.T, cfg Config) (*memRecorder, *streams.Stream) {
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
	if _, err := Run(context.Background(), Spec{Config: cfg, Strategy: strat, Stream: s}, rec); err != nil {
		t.Fatal(err)
	}
	if _, err := metrics.Compute(metrics.Input{NumExperiences: len(s.Experiences), Ends: rec.ends, Evals: live(rec.evals), Matrix: rec.matrix}); err != nil {
		t.Fatalf("metrics: %v", err)
	}
	return rec, s
}

func live(recs []metrics.EvalRecord) []metrics.EvalRecord {
	var out []metrics.EvalRecord
	for _, r := range recs {
		if r.Variant == metrics.VariantLive {
			out = append(out, r)
		}
	}
	return out
}

// TestOnlineRepeatHiddenBoundaries runs the online protocol: one pass in
// mini-batches of 10, each used for 3 consecutive updates, with the
// boundaries hidden from the strategy.
func TestOnlineRepeatHiddenBoundaries(t *testing.T) {
	cfg := synthConfig("harness-test-probe")
	cfg.Experiences = 3
	cfg.Epochs, cfg.BatchSize, cfg.Repeat, cfg.HideBoundaries = 1, 10, 3, true
	cfg.Eval.Every = 7
	rec, s := runStream(t, cfg)
	p := lastProbe
	// split-synthetic's 10 classes in 3 experiences of 4, 3 and 3 classes of
	// 200 training samples: 80, 60, 60 mini-batches, ×3 updates.
	wantEnds := []int{240, 420, 600}
	if !slices.Equal(rec.ends, wantEnds) || !slices.Equal(Iterations(&cfg, s), []int{240, 180, 180}) {
		t.Fatalf("ends %v, want %v", rec.ends, wantEnds)
	}
	if !slices.Equal(p.before, []int{1}) || !slices.Equal(p.after, []int{3}) {
		t.Errorf("hidden boundaries: BeforeExperience %v, AfterExperience %v, want [1] and [3]", p.before, p.after)
	}
	if len(p.steps) != 600 {
		t.Fatalf("%d steps, want 600", len(p.steps))
	}
	seen := map[[2]int32]bool{}
	for i, st := range p.steps {
		if st.iteration != i || st.repeat != i%3 || st.n != 10 {
			t.Fatalf("step %d: iteration %d, repeat %d, %d samples", i, st.iteration, st.repeat, st.n)
		}
		if st.repeat > 0 && !slices.Equal(st.pos, p.steps[i-1].pos) {
			t.Fatalf("step %d repeats another mini-batch", i)
		}
		wantExp := 1
		for k, e := range wantEnds {
			if i >= e {
				wantExp = k + 2
			}
		}
		if st.exp != wantExp || p.current[i] != wantExp {
			t.Fatalf("step %d: batch of experience %d (current %d), want %d", i, st.exp, p.current[i], wantExp)
		}
		if st.repeat == 0 {
			for _, pos := range st.pos {
				key := [2]int32{int32(st.exp), pos}
				if seen[key] {
					t.Fatalf("sample %v seen twice in a single pass", key)
				}
				seen[key] = true
			}
		}
	}
	if len(seen) != 2000 { // 10 classes of 200 training samples, each once
		t.Errorf("%d distinct samples in one pass, want 2000", len(seen))
	}
	// Evaluation every 7 updates, at 0 and at every end.
	for _, r := range rec.evals {
		if r.Iteration%7 != 0 && !slices.Contains(wantEnds, r.Iteration) {
			t.Fatalf("evaluation at %d", r.Iteration)
		}
	}
}

// TestBlurryRun checks that the driver composes blurry batches as the
// schedule says and that the metrics stay defined.
func TestBlurryRun(t *testing.T) {
	cfg := synthConfig("harness-test-probe")
	cfg.Experiences = 3
	cfg.Epochs, cfg.BatchSize, cfg.Blur = 1, 20, 0.5
	rec, s := runStream(t, cfg)
	p := lastProbe
	sched, _ := schedule(&cfg, s, nil)
	if !slices.Equal(rec.ends, sched.Ends()) {
		t.Fatalf("ends %v, schedule %v", rec.ends, sched.Ends())
	}
	if !slices.Equal(p.before, []int{1, 2, 3}) {
		t.Errorf("BeforeExperience %v", p.before)
	}
	i := 0
	mixed := 0
	for k := 1; k <= 3; k++ {
		for j := range sched.Batches[k-1] {
			st := p.steps[i]
			i++
			prev, next := sched.Mix(k, j)
			if st.n != 20 || st.exp != k {
				t.Fatalf("experience %d mini-batch %d: %d rows of experience %d", k, j, st.n, st.exp)
			}
			if prev+next == 0 {
				if st.sources != nil {
					t.Fatalf("experience %d mini-batch %d: sources set on an unmixed batch", k, j)
				}
				continue
			}
			mixed++
			want := make([]int32, 0, 20)
			for range prev {
				want = append(want, int32(k-1))
			}
			for range 20 - prev - next {
				want = append(want, int32(k))
			}
			for range next {
				want = append(want, int32(k+1))
			}
			if !slices.Equal(st.sources, want) {
				t.Fatalf("experience %d mini-batch %d: sources %v, want %v", k, j, st.sources, want)
			}
			// Each row's position is in its source experience's view.
			for r, src := range st.sources {
				if int(st.pos[r]) >= s.Experiences[src-1].Train.Len() {
					t.Fatalf("row %d: position %d outside experience %d", r, st.pos[r], src)
				}
			}
		}
	}
	if want := sched.Windows[0] + sched.Windows[1]; mixed != want {
		t.Errorf("%d mixed batches, want %d", mixed, want)
	}
}

// TestValidationSubset holds out 5 % of each experience's training data as
// the continual-evaluation set.
func TestValidationSubset(t *testing.T) {
	cfg := synthConfig("naive")
	cfg.Eval.Subset = SubsetValidation
	cfg.Eval.Size = 1000
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	if cfg.Eval.ValidationFraction != 0.05 {
		t.Fatalf("validation fraction resolved to %v, want 0.05", cfg.Eval.ValidationFraction)
	}
	rec, s := runStream(t, cfg)
	if rec.info.EvalSubset != metrics.SubsetValidation {
		t.Errorf("run subset %q", rec.info.EvalSubset)
	}
	for _, e := range rec.info.Experiences {
		// 2 classes × 200 training samples: 10 of each held out.
		if e.EvalSize != 20 || e.TrainSize != 380 || e.TestSize != 100 {
			t.Errorf("experience %d: eval %d train %d test %d, want 20, 380, 100", e.ID, e.EvalSize, e.TrainSize, e.TestSize)
		}
	}
	for _, e := range s.Experiences {
		for _, i := range e.Valid.Index {
			if slices.Contains(e.Train.Index, i) {
				t.Fatalf("experience %d trains on validation sample %d", e.ID, i)
			}
		}
	}
	for _, r := range rec.evals {
		if r.Subset != metrics.SubsetValidation || r.Total != 20 {
			t.Fatalf("record %+v", r)
		}
	}
	for _, m := range rec.matrix {
		if m.Total != 100 {
			t.Fatalf("accuracy matrix not on the full test split: %+v", m)
		}
	}
}

// TestTaskIncrementalMasksRestrictOutputs: with the output restricted to
// each task's classes in training and evaluation, fine-tuning keeps old
// tasks, where the one-head class-incremental run forgets them entirely.
func TestTaskIncrementalMasksRestrictOutputs(t *testing.T) {
	cfg := synthConfig("naive")
	ci, _ := runStream(t, cfg)
	cfg.Scenario = "task-incremental"
	ti, s := runStream(t, cfg)
	if s.Scenario != streams.TaskIncremental || s.Mask(0) == nil {
		t.Fatal("no task masks")
	}
	a, b := finalAcc(ci, 1), finalAcc(ti, 1)
	t.Logf("final accuracy on experience 1: class-incremental %.2f, task-incremental %.2f", a, b)
	if a > 0.1 || b < 0.9 {
		t.Errorf("final accuracy on experience 1: class-incremental %.2f (want ~0), task-incremental %.2f (want high)", a, b)
	}
	// At t = 0 a masked 2-way choice is right about half the time; an
	// unmasked 10-way one about a tenth.
	var tiInit, ciInit float64
	for _, r := range ti.matrix {
		if r.Row == 0 {
			tiInit += r.Accuracy() / 5
		}
	}
	for _, r := range ci.matrix {
		if r.Row == 0 {
			ciInit += r.Accuracy() / 5
		}
	}
	if tiInit < 0.3 || ciInit > 0.3 {
		t.Errorf("initial accuracy: task-incremental %.2f (want ~0.5), class-incremental %.2f (want ~0.1)", tiInit, ciInit)
	}
}

// TestGapGrowsWithTaskDistance runs fine-tuning on the Gaussian
// domain-incremental stream at two task distances.
func TestGapGrowsWithTaskDistance(t *testing.T) {
	depth := func(d float64) float64 {
		cfg := synthConfig("naive")
		cfg.Benchmark = "gaussian"
		cfg.Experiences = 3
		cfg.Synthetic = &SyntheticConfig{TaskDistance: d}
		cfg.Eval.Size = 200
		rec, s := runStream(t, cfg)
		vals, err := metrics.Compute(metrics.Input{NumExperiences: len(s.Experiences), Ends: rec.ends, Evals: rec.evals, Matrix: rec.matrix})
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range vals {
			if v.Name == metrics.NameGapDepthMean {
				return v.Value
			}
		}
		t.Fatal("no gap depth")
		return 0
	}
	near, far := depth(0.2), depth(1)
	t.Logf("gaussian stream, naive: mean gap depth %.3f at task distance 0.2, %.3f at 1", near, far)
	if far <= near+0.1 {
		t.Errorf("mean gap depth %.3f at distance 1 is not clearly above %.3f at 0.2", far, near)
	}
}

// writeCSV writes a table of 3 classes × 40 rows of 16 features (4×4
// images) with a task column (two tasks) and returns its path.
func writeCSV(t *testing.T) string {
	t.Helper()
	var b strings.Builder
	for k := range 16 {
		fmt.Fprintf(&b, "p%d,", k)
	}
	b.WriteString("y,domain\n")
	rng := streams.NewRand(5, 5)
	for i := range 120 {
		y := i % 3
		for k := range 16 {
			v := 0.0
			if k%3 == y {
				v = 1
			}
			fmt.Fprintf(&b, "%.3f,", v+0.3*rng.NormFloat64())
		}
		fmt.Fprintf(&b, "%d,%s\n", y, []string{"day", "night"}[i/60])
	}
	path := filepath.Join(t.TempDir(), "own.csv")
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestBenchmarksBuild(t *testing.T) {
	csv := writeCSV(t)
	var pixels []string
	for k := range 16 {
		pixels = append(pixels, fmt.Sprintf("p%d", k))
	}
	own := &datasets.Source{Path: csv, TableOptions: datasets.TableOptions{LabelCol: "y", FeatureCols: pixels, Shape: []int{4, 4}}}
	owned := func(c *Config) { c.Data = own }
	for _, tc := range []struct {
		bench   string
		change  func(*Config)
		n, nc   int
		scen    streams.Scenario
		classes []int32 // of experience 2
		mnist   bool
	}{
		{"split-synthetic", func(c *Config) { c.ExperienceClasses = []int{4, 3, 3}; c.Experiences = 0 }, 3, 10, streams.ClassIncremental, []int32{4, 5, 6}, false},
		{"split-synthetic", func(c *Config) { c.Experiences = 3; c.Scenario = "domain-incremental" }, 3, 4, streams.DomainIncremental, []int32{0, 1, 2}, false},
		{"gaussian", func(c *Config) { c.Experiences = 0 }, 5, 10, streams.DomainIncremental, []int32{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}, false},
		{"gaussian", func(c *Config) { c.Experiences = 2; c.Scenario = "class-incremental" }, 2, 20, streams.ClassIncremental, []int32{10, 11, 12, 13, 14, 15, 16, 17, 18, 19}, false},
		{"split", func(c *Config) { owned(c); c.Experiences = 3 }, 3, 3, streams.ClassIncremental, []int32{1}, false},
		{"permuted", func(c *Config) { owned(c); c.Experiences = 2 }, 2, 3, streams.DomainIncremental, []int32{0, 1, 2}, false},
		{"rotated", func(c *Config) { owned(c); c.Experiences = 0; c.Angles = []float64{0, 90} }, 2, 3, streams.DomainIncremental, []int32{0, 1, 2}, false},
		{"tasks", func(c *Config) {
			owned(c)
			c.Experiences = 0
			c.Data = &datasets.Source{Path: csv, TableOptions: datasets.TableOptions{LabelCol: "y", TaskCol: "domain", SplitSeed: 3}}
		}, 2, 3, streams.DomainIncremental, []int32{0, 1, 2}, false},
		{"split-mnist", func(c *Config) {}, 5, 10, streams.ClassIncremental, []int32{2, 3}, true},
		{"split-fmnist", func(c *Config) {}, 5, 10, streams.ClassIncremental, []int32{2, 3}, true},
		{"permuted-mnist", func(c *Config) { c.Experiences = 10 }, 10, 10, streams.DomainIncremental, []int32{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}, true},
		{"rotated-mnist", func(c *Config) { c.Experiences = 0; c.Angles = []float64{0, 80, 160} }, 3, 10, streams.DomainIncremental, []int32{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}, true},
		{"mnist-fmnist", func(c *Config) { c.Experiences = 0 }, 10, 20, streams.ClassIncremental, []int32{2, 3}, true},
		{"mnist-fmnist", func(c *Config) { c.Experiences = 0; c.Scenario = "domain-incremental" }, 2, 10, streams.DomainIncremental, []int32{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}, true},
		{"mnist-fmnist", func(c *Config) { c.Experiences = 4; c.Scenario = "task-incremental" }, 4, 20, streams.TaskIncremental, []int32{5, 6, 7, 8, 9}, true},
	} {
		t.Run(tc.bench+"/"+string(tc.scen), func(t *testing.T) {
			cfg := synthConfig("naive")
			cfg.Benchmark = tc.bench
			tc.change(&cfg)
			if err := cfg.Validate(); err != nil {
				t.Fatal(err)
			}
			s, err := testData.Stream(&cfg)
			if tc.mnist && errors.Is(err, datasets.ErrNotFound) {
				t.Skip(err)
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(s.Experiences) != tc.n || s.NumClasses != tc.nc || s.Scenario != tc.scen {
				t.Fatalf("%d experiences, %d classes, %s; want %d, %d, %s", len(s.Experiences), s.NumClasses, s.Scenario, tc.n, tc.nc, tc.scen)
			}
			if got := s.Experiences[1].Classes; !slices.Equal(got, tc.classes) {
				t.Errorf("experience 2 classes %v, want %v", got, tc.classes)
			}
		})
	}
	// mnist-fmnist: experiences 6..10 are Fashion-MNIST.
	cfg := synthConfig("naive")
	cfg.Benchmark, cfg.Experiences = "mnist-fmnist", 10
	if s, err := testData.Stream(&cfg); err == nil {
		if !strings.HasPrefix(s.Experiences[5].Name, "fashion-mnist") || !strings.HasPrefix(s.Experiences[4].Name, "mnist") {
			t.Errorf("experiences 5 and 6: %q, %q", s.Experiences[4].Name, s.Experiences[5].Name)
		}
	}
}

func TestConfigValidateStreamFields(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(*Config)
		want   string
	}{
		{"scenario", func(c *Config) { c.Scenario = "online" }, "scenario"},
		{"experiences", func(c *Config) { c.Experiences = -1 }, "experiences"},
		{"angles on a split", func(c *Config) { c.Angles = []float64{0, 90} }, "angles: not used by benchmark split-synthetic"},
		{"angles count", func(c *Config) { c.Benchmark = "rotated-mnist"; c.Experiences = 3; c.Angles = []float64{0, 90} }, "2 angles for 3 experiences"},
		{"experience classes", func(c *Config) { c.ExperienceClasses = []int{5, 5} }, "experience_classes"},
		{"identity first", func(c *Config) { c.IdentityFirst = true }, "identity_first"},
		{"task distance", func(c *Config) { c.Benchmark = "gaussian"; c.Synthetic = &SyntheticConfig{TaskDistance: 2} }, "task_distance"},
		{"task distance on a split", func(c *Config) { c.Synthetic = &SyntheticConfig{TaskDistance: 0.5} }, "task_distance: only for benchmark gaussian"},
		{"synthetic on mnist", func(c *Config) { c.Benchmark = "split-mnist"; c.Synthetic = &SyntheticConfig{} }, "synthetic: not used"},
		{"odd mnist-fmnist", func(c *Config) { c.Benchmark = "mnist-fmnist"; c.Experiences = 3 }, "even number"},
		{"data on split-mnist", func(c *Config) { c.Benchmark = "split-mnist"; c.Data = &datasets.Source{Path: "x.csv"} }, "use benchmark split"},
		{"no data", func(c *Config) { c.Benchmark = "split" }, "set data.path"},
		{"tasks without a column", func(c *Config) { c.Benchmark = "tasks"; c.Data = &datasets.Source{Path: "x.csv"} }, "data.task_col"},
		{"data format", func(c *Config) { c.Benchmark = "split"; c.Data = &datasets.Source{Path: "x", Format: "xls"} }, "data.format"},
		{"test fraction", func(c *Config) {
			c.Benchmark = "split"
			c.Data = &datasets.Source{Path: "x", TableOptions: datasets.TableOptions{TestFraction: 1.5}}
		}, "test fraction"},
		{"repeat", func(c *Config) { c.Repeat = -1 }, "repeat"},
		{"iterations", func(c *Config) { c.Iterations = 10; c.Repeat = 3 }, "multiple of repeat"},
		{"blur", func(c *Config) { c.Blur = 2 }, "blur"},
		{"blur task-incremental", func(c *Config) { c.Blur = 0.5; c.Scenario = "task-incremental" }, "task-incremental"},
		{"validation fraction", func(c *Config) { c.Eval.Subset = "validation"; c.Eval.ValidationFraction = 1 }, "eval.validation_fraction"},
		{"validation fraction without subset", func(c *Config) { c.Eval.ValidationFraction = 0.1 }, "only with eval.subset validation"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := synthConfig("naive")
			tc.change(&cfg)
			err := cfg.Validate()
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("error %v, want ErrInvalid", err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not name %q", err, tc.want)
			}
		})
	}
	// Configurations that do not use the new fields keep their JSON (and
	// key).
	cfg := synthConfig("naive")
	for _, f := range []string{"scenario", "angles", "data", "repeat", "blur", "iterations", "validation_fraction", "synthetic"} {
		if strings.Contains(string(cfg.JSON()), `"`+f+`"`) {
			t.Errorf("unused field %s in %s", f, cfg.JSON())
		}
	}
}

// TestMalformedUserDataFails: a malformed table fails in Data.Stream with
// the datasets error, before any run starts.
func TestMalformedUserDataFails(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bad.csv")
	os.WriteFile(path, []byte("a,y\n1,0\n2,\n3,1\n4,0\n5,1\n"), 0o644)
	cfg := synthConfig("naive")
	cfg.Benchmark, cfg.Experiences = "split", 2
	cfg.Data = &datasets.Source{Path: path, TableOptions: datasets.TableOptions{LabelCol: "y"}}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	_, err := (&Data{}).Stream(&cfg)
	if !errors.Is(err, datasets.ErrCorrupt) || !strings.Contains(err.Error(), `row 2, column "y": missing label`) {
		t.Errorf("error %v", err)
	}
}

// TestBlurryFillDoesNotAllocate guards the driver's batch composition.
func TestBlurryFillDoesNotAllocate(t *testing.T) {
	cfg := synthConfig("naive")
	cfg.Experiences, cfg.Epochs, cfg.BatchSize, cfg.Blur = 3, 1, 16, 1
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	s, err := testData.Stream(&cfg)
	if err != nil {
		t.Fatal(err)
	}
	sched, _ := schedule(&cfg, s, nil)
	d := &driver{spec: Spec{Stream: s}, cfg: &cfg}
	rng := streams.NewRand(1, 1)
	loaders := make([]*streams.Loader, 3)
	loader := func(k int) *streams.Loader {
		if loaders[k-1] == nil {
			loaders[k-1] = streams.NewLoader(s.Experiences[k-1].Train, 16, rng)
		}
		return loaders[k-1]
	}
	batch := &streams.Batch{X: make([]float32, 16*s.InputDim), Y: make([]int32, 16), Pos: make([]int32, 0, 16)}
	sources := make([]int32, 16)
	B := sched.Batches[0]
	d.fillBlurry(batch, sched, 1, B-1, loader, sources)
	d.fillBlurry(batch, sched, 2, 0, loader, sources)
	allocs := testing.AllocsPerRun(50, func() {
		d.fillBlurry(batch, sched, 1, B-1, loader, sources)
		d.fillBlurry(batch, sched, 2, 0, loader, sources)
	})
	if allocs != 0 {
		t.Errorf("blurry batch composition allocates %v times", allocs)
	}
	if batch.Sources == nil || batch.N != 16 {
		t.Errorf("batch %d rows, sources %v", batch.N, batch.Sources)
	}
}

// TestStreamPresets validates every preset and builds its stream.
func TestStreamPresets(t *testing.T) {
	for _, name := range PresetNames() {
		t.Run(name, func(t *testing.T) {
			p, err := LookupPreset(name)
			if err != nil {
				t.Fatal(err)
			}
			cfg := p.Config
			if err := cfg.Validate(); err != nil {
				if errors.Is(err, strategies.ErrUnknown) {
					t.Skip(err)
				}
				t.Fatal(err)
			}
			s, err := testData.Stream(&cfg)
			if errors.Is(err, datasets.ErrNotFound) {
				t.Skip(err)
			}
			if err != nil {
				t.Fatal(err)
			}
			if cfg.Experiences > 0 && len(s.Experiences) != cfg.Experiences {
				t.Errorf("%d experiences, want %d", len(s.Experiences), cfg.Experiences)
			}
		})
	}
	// A preset's slices are not shared with the configurations made from it.
	a, _ := LookupPreset("vandeven-rotmnist-joint")
	a.Config.Angles[1] = 5
	if b, _ := LookupPreset("vandeven-rotmnist-joint"); b.Config.Angles[1] != 80 {
		t.Error("changing a looked-up preset changed the preset")
	}
}

// TestNewStreamsAreDeterministic: the same seed gives bit-identical records
// on permuted, blurry, online and validation streams; another seed does not.
func TestNewStreamsAreDeterministic(t *testing.T) {
	for _, change := range []func(*Config){
		func(c *Config) {
			c.Benchmark = "gaussian"
			c.Experiences = 3
			c.Synthetic = &SyntheticConfig{TaskDistance: 0.7}
		},
		func(c *Config) { c.Blur = 0.7; c.Repeat = 2; c.HideBoundaries = true },
		func(c *Config) { c.Eval.Subset = SubsetValidation; c.PermuteClasses = true },
	} {
		cfg := synthConfig("er")
		change(&cfg)
		a, _ := runStream(t, cfg)
		b, _ := runStream(t, cfg)
		if !slices.Equal(a.evals, b.evals) || !slices.Equal(a.matrix, b.matrix) {
			t.Errorf("%s: two runs with the same seed differ", cfg.JSON())
		}
		cfg.Seed++
		c, _ := runStream(t, cfg)
		if slices.Equal(a.evals, c.evals) {
			t.Errorf("%s: seeds %d and %d give the same records", cfg.JSON(), cfg.Seed-1, cfg.Seed)
		}
	}
}
