package harness

import (
	"strconv"
	"testing"

	"github.com/cleval/cleval/nn"
	"github.com/cleval/cleval/strategies"
	"github.com/cleval/cleval/streams"
)

// benchSetup builds the reference experiment's model and stream (MNIST,
// MLP 784-400-400-10) with the given thread count.
func benchSetup(b *testing.B, threads int) (*Config, *streams.Stream, nn.Model, func()) {
	b.Helper()
	p, err := LookupPreset(DefaultPreset)
	if err != nil {
		b.Fatal(err)
	}
	cfg := p.Config
	if err := cfg.Validate(); err != nil {
		b.Fatal(err)
	}
	s, err := testData.Stream(&cfg)
	if err != nil {
		b.Skipf("MNIST not available: %v", err)
	}
	c := nn.NewCompute(threads)
	m, err := nn.New(cfg.ModelSpec(s), c)
	if err != nil {
		b.Fatal(err)
	}
	m.Init(streams.NewRand(0, streams.RandInit))
	return &cfg, s, m, c.Close
}

// BenchmarkTrainStep measures one training iteration of the reference
// experiment during experience 2: naive (256 new samples) and ER (256 new
// + 256 replayed, the memory filled at the end of experience 1).
func BenchmarkTrainStep(b *testing.B) {
	for _, strat := range []string{"naive", "er"} {
		for _, threads := range []int{1, 2} {
			b.Run(strat+"/t"+strconv.Itoa(threads), func(b *testing.B) {
				cfg, s, m, done := benchSetup(b, threads)
				defer done()
				params := cfg.StrategyParams
				if strat == "naive" {
					params = nil
				}
				r, err := strategies.Resolve(strat, params)
				if err != nil {
					b.Fatal(err)
				}
				st := r.Strategy
				ctx := &strategies.Context{Model: m, Optimizer: nn.NewSGD(cfg.Optimizer, len(m.Params())),
					Rand: streams.NewRand(0, streams.RandStrategy), Stream: s, BatchSize: cfg.BatchSize}
				if err := st.Setup(ctx); err != nil {
					b.Fatal(err)
				}
				ctx.Current = s.Experiences[0]
				if err := st.AfterExperience(ctx, s.Experiences[0]); err != nil {
					b.Fatal(err)
				}
				ctx.Current = s.Experiences[1]
				loader := streams.NewLoader(s.Experiences[1].Train, cfg.BatchSize, streams.NewRand(0, streams.RandShuffle))
				batch := &streams.Batch{X: make([]float32, cfg.BatchSize*s.InputDim), Y: make([]int32, cfg.BatchSize)}
				step := func() {
					loader.Next(batch)
					if _, err := st.Step(ctx, batch); err != nil {
						b.Fatal(err)
					}
				}
				for range 3 { // warm-up: workspaces, packing buffers
					step()
				}
				samples := cfg.BatchSize
				if strat == "er" {
					samples *= 2
				}
				b.ReportAllocs()
				b.ResetTimer()
				for b.Loop() {
					step()
				}
				b.ReportMetric(float64(samples)*float64(b.N)/b.Elapsed().Seconds(), "samples/s")
			})
		}
	}
}

// BenchmarkEvaluate measures the continual evaluation of the reference
// experiment at its largest: 1000 samples of each of 5 experiences, on one
// or two single-threaded evaluation units (as a pipelined run uses them).
func BenchmarkEvaluate(b *testing.B) {
	for _, units := range []int{1, 2} {
		b.Run("5x1000/t"+strconv.Itoa(units), func(b *testing.B) {
			cfg, s, m, done := benchSetup(b, 1)
			defer done()
			ev := newEvaluator(s, &cfg.Eval, 0, m)
			var workers []*evalUnit
			for range units - 1 {
				c := nn.NewCompute(1)
				defer c.Close()
				wm, err := nn.New(m.Spec(), c)
				if err != nil {
					b.Fatal(err)
				}
				workers = append(workers, newEvalUnit(wm))
			}
			r := newEvalRunner(ev, newEvalUnit(m), workers)
			defer r.close()
			a := []arenas{{params: m.Params(), state: m.State()}}
			tasks := ev.pointTasks(nil, 1, 1, 5)
			eval := func() {
				r.start(a, tasks)
				r.finish()
			}
			eval()
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				eval()
			}
			b.ReportMetric(5000*float64(b.N)/b.Elapsed().Seconds(), "samples/s")
		})
	}
}
