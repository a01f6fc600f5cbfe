package harness

import (
	"context"
	"errors"
	"math/rand/v2"
	"testing"

	"github.com/cleval/cleval/nn"
	"github.com/cleval/cleval/strategies"
	"github.com/cleval/cleval/streams"
)

// otherArch trains like naive and keeps a second network of another shape
// (a wider MLP, trained on nothing) as a variant with its own Spec.
type otherArch struct {
	strategies.Wrapper
	spec  nn.Spec
	model nn.Model
}

func (o *otherArch) Setup(ctx *strategies.Context) error {
	o.spec = ctx.Model.Spec()
	o.spec.Hidden = []int{7, 5}
	m, err := nn.New(o.spec, nil)
	if err != nil {
		return err
	}
	m.Init(rand.New(rand.NewPCG(1, 1)))
	o.model = m
	return o.Init(ctx, nil)
}

func (o *otherArch) Variants() []strategies.Variant {
	return []strategies.Variant{{Name: "other", Params: o.model.Params(), State: o.model.State(), Spec: &o.spec}}
}

// TestVariantOfAnotherArchitecture: a variant with its own Spec is
// evaluated with a model of that architecture, in line and pipelined
// alike, and its records are exactly that model's accuracy.
func TestVariantOfAnotherArchitecture(t *testing.T) {
	for _, threads := range []int{1, 3} {
		cfg := synthConfig("naive")
		cfg.Experiences = 2
		if _, err := cfg.Resolve(); err != nil {
			t.Fatal(err)
		}
		naive, err := strategies.Resolve("naive", nil)
		if err != nil {
			t.Fatal(err)
		}
		strat := &otherArch{Wrapper: strategies.Wrap("other-arch", "naive", naive.Strategy)}
		s, err := testData.Stream(&cfg)
		if err != nil {
			t.Fatal(err)
		}
		rec := &memRecorder{}
		if _, err := Run(context.Background(), Spec{Config: cfg, Strategy: strat, Stream: s, Threads: threads}, rec); err != nil {
			t.Fatal(err)
		}
		// The expected accuracy of the untrained variant on experience 1's
		// evaluation subset, computed directly.
		ev := newEvaluator(s, &cfg.Eval, cfg.Seed, nil)
		n := ev.size(1)
		x := make([]float32, n*s.InputDim)
		y := make([]int32, n)
		s.Experiences[0].Test.Gather(x, y, ev.pos[0], nil)
		ws := strat.model.NewWorkspace(n)
		logits := strat.model.Infer(strat.model.Params(), nil, ws, x, n)
		_, want := nn.SoftmaxCE(logits, n, s.NumClasses, y, nn.SoftmaxMask{Mask: s.Mask(s.Experiences[0].Task)}, 0, nil)
		found := 0
		for _, r := range rec.evals {
			if r.Variant == "other" && r.Evaluated == 1 {
				found++
				if r.Correct != want {
					t.Fatalf("threads %d: t=%d: %d correct, want %d", threads, r.Iteration, r.Correct, want)
				}
			}
		}
		if found == 0 {
			t.Fatalf("threads %d: no records of the variant", threads)
		}
	}
}

// TestMatrixTestSubset: with eval.test_size the accuracy matrix counts a
// seeded subset of each test split, the same subset at every row and in
// every run of the seed; without it the whole split.
func TestMatrixTestSubset(t *testing.T) {
	run := func(testSize int) *memRecorder {
		cfg := synthConfig("naive")
		cfg.Experiences = 3
		cfg.Eval.TestSize = testSize
		rec, _, err := runConfig(t, context.Background(), cfg, nil)
		if err != nil {
			t.Fatal(err)
		}
		return rec
	}
	full, a, b := run(0), run(7), run(7)
	for i, r := range a.matrix {
		if r.Total != 7 {
			t.Fatalf("row %d col %d: %d samples, want 7", r.Row, r.Col, r.Total)
		}
		if b.matrix[i] != r {
			t.Fatalf("two runs of the seed differ: %+v vs %+v", r, b.matrix[i])
		}
		if full.matrix[i].Total <= 7 {
			t.Fatalf("the whole split has %d samples", full.matrix[i].Total)
		}
	}
	// The continual-evaluation records do not depend on the matrix subset.
	for i, r := range a.evals {
		if full.evals[i] != r {
			t.Fatalf("evaluation record %d changed with test_size: %+v vs %+v", i, r, full.evals[i])
		}
	}
}

// TestAugmentation: augmentation changes training (not the evaluation of
// the initial model), is the same in every run of the seed, and needs
// image samples.
func TestAugmentation(t *testing.T) {
	mk := func(aug string) Config {
		cfg := synthConfig("naive")
		cfg.Benchmark = "split-mnist"
		cfg.Iterations = 4
		cfg.Eval.Size = 50
		cfg.Augment = aug
		return cfg
	}
	plain, a, b := mk(""), mk("crop-flip"), mk("crop-flip")
	rp, _, err := runConfig(t, context.Background(), plain, nil)
	if err != nil {
		t.Fatal(err)
	}
	ra, _, err := runConfig(t, context.Background(), a, nil)
	if err != nil {
		t.Fatal(err)
	}
	rb, _, err := runConfig(t, context.Background(), b, nil)
	if err != nil {
		t.Fatal(err)
	}
	if ra.evals[0] != rp.evals[0] {
		t.Errorf("t = 0 evaluated differently with augmentation: %+v vs %+v", ra.evals[0], rp.evals[0])
	}
	same := true
	for i := range ra.evals {
		if ra.evals[i] != rb.evals[i] {
			t.Fatalf("two runs of the seed differ at record %d", i)
		}
		same = same && ra.evals[i].LossSum == rp.evals[i].LossSum
	}
	if same {
		t.Error("augmentation changed nothing")
	}
	flat := synthConfig("naive")
	flat.Augment = "crop-flip"
	if _, err := flat.Resolve(); err != nil {
		t.Fatal(err)
	}
	if _, err := testData.Stream(&flat); err == nil || !errors.Is(err, ErrInvalid) {
		t.Errorf("augmentation of flat samples: %v", err)
	}
}

// TestNormalization: every gathered value is (x − mean)/std of its
// channel, in training, evaluation and the matrix alike; a normalisation
// of the wrong number of channels is refused before anything runs.
func TestNormalization(t *testing.T) {
	cfg := synthConfig("naive")
	cfg.Benchmark = "split-mnist"
	cfg.Normalize = &streams.Normalization{Mean: []float32{0.1307}, Std: []float32{0.3081}}
	if _, err := cfg.Resolve(); err != nil {
		t.Fatal(err)
	}
	s, err := testData.Stream(&cfg)
	if err != nil {
		t.Fatal(err)
	}
	e := s.Experiences[0]
	x := make([]float32, 3*s.InputDim)
	e.Test.Gather(x, nil, []int32{0, 1, 2}, nil)
	raw := make([]float32, 3*s.InputDim)
	plain := e.Test
	plain.Norm = nil
	plain.Gather(raw, nil, []int32{0, 1, 2}, nil)
	for i := range x {
		if want := (raw[i] - 0.1307) / 0.3081; x[i] != want {
			t.Fatalf("value %d: %v, want %v", i, x[i], want)
		}
	}
	bad := synthConfig("naive")
	bad.Benchmark = "split-mnist"
	bad.Normalize = &streams.Normalization{Mean: []float32{0.5, 0.5, 0.5}, Std: []float32{0.2, 0.2, 0.2}}
	if _, err := testData.Stream(&bad); !errors.Is(err, ErrInvalid) {
		t.Errorf("three channels of normalisation for one-channel images: %v", err)
	}
}
