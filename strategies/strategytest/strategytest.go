// Package strategytest is the test kit of strategies, built-in and
// plugins alike: it builds small streams and contexts, drives a strategy
// through them the way the harness does, and checks the properties every
// strategy must have (Check).
package strategytest

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/cleval/cleval/datasets"
	"github.com/cleval/cleval/nn"
	"github.com/cleval/cleval/strategies"
	"github.com/cleval/cleval/streams"
)

// Options describe a test stream and model.
type Options struct {
	// Classes, Experiences, Dim, PerClass: a Gaussian-blob dataset of
	// Classes classes split into Experiences experiences, Dim features,
	// PerClass training samples per class. Zero values: 6, 3, 20, 40.
	Classes, Experiences, Dim, PerClass int
	// Scenario of the split; "" is class-incremental.
	Scenario streams.Scenario
	// Hidden layer sizes of the MLP; nil means [16].
	Hidden []int
	// Arch, when not empty, is the architecture to train instead of an
	// MLP (e.g. "cnn", whose batch normalisation gives the model a state);
	// the samples are then images of Dim = H·W values (1×H×W, H = W when
	// Dim is a square, else 1×1×Dim).
	Arch string
	// NF is the width of an Arch that has one (nn.HasWidth); 0 means
	// nn.DefaultNF.
	NF int
	// BatchSize; 0 means 16.
	BatchSize int
	// LR of plain SGD with momentum 0.9; 0 means 0.05.
	LR float64
	// Seed of the data and the model.
	Seed uint64
}

func (o *Options) defaults() {
	if o.Classes == 0 {
		o.Classes = 6
	}
	if o.Experiences == 0 {
		o.Experiences = 3
	}
	if o.Dim == 0 {
		o.Dim = 20
	}
	if o.PerClass == 0 {
		o.PerClass = 40
	}
	if o.Hidden == nil {
		o.Hidden = []int{16}
	}
	if o.BatchSize == 0 {
		o.BatchSize = 16
	}
	if o.LR == 0 {
		o.LR = 0.05
	}
}

// Stream returns a stream of Gaussian blobs (well separated classes).
func Stream(o Options) *streams.Stream {
	o.defaults()
	rng := rand.New(rand.NewPCG(o.Seed, 77))
	means := make([]float64, o.Classes*o.Dim)
	for i := range means {
		means[i] = 3 * rng.NormFloat64()
	}
	mk := func(name string, per int) *datasets.Dataset {
		shape := []int{o.Dim}
		if side := int(math.Sqrt(float64(o.Dim))); o.Arch != "" && side*side == o.Dim {
			shape = []int{1, side, side}
		}
		d := &datasets.Dataset{Name: name, Shape: shape, NumClasses: o.Classes}
		for c := range o.Classes {
			for range per {
				for j := range o.Dim {
					d.Features = append(d.Features, float32(means[c*o.Dim+j]+rng.NormFloat64()))
				}
				d.Labels = append(d.Labels, int32(c))
			}
		}
		return d
	}
	p := datasets.Pair{Train: mk("train", o.PerClass), Test: mk("test", o.PerClass/4+1)}
	s, err := streams.SplitClasses(p, streams.SplitConfig{Name: "test", NumExperiences: o.Experiences, Scenario: o.Scenario})
	if err != nil {
		panic(err)
	}
	return s
}

// Context returns a context over a fresh MLP for stream s.
func Context(s *streams.Stream, o Options) *strategies.Context {
	o.defaults()
	var m nn.Model
	var err error
	if o.Arch == "" {
		sizes := append([]int{s.InputDim}, o.Hidden...)
		m, err = nn.NewMLP(append(sizes, s.NumClasses), nil)
	} else {
		m, err = nn.New(nn.Spec{Arch: o.Arch, Input: nn.Shape(s.Shape()), Classes: s.NumClasses, NF: o.NF}, nil)
	}
	if err != nil {
		panic(err)
	}
	m.Init(rand.New(rand.NewPCG(o.Seed, 1)))
	return &strategies.Context{
		Model:     m,
		Optimizer: nn.NewSGD(nn.SGDConfig{LR: o.LR, Momentum: 0.9}, len(m.Params())),
		Rand:      rand.New(rand.NewPCG(o.Seed, 2)),
		Stream:    s,
		BatchSize: o.BatchSize,
	}
}

// New builds a registered strategy, failing the test on an error.
func New(tb testing.TB, name, params string) strategies.Strategy {
	tb.Helper()
	r, err := strategies.Resolve(name, json.RawMessage(params))
	if err != nil {
		tb.Fatal(err)
	}
	return r.Strategy
}

// Driver steps a strategy through a stream as the harness does: one
// loader per experience, Epochs epochs.
type Driver struct {
	Ctx   *strategies.Context
	Strat strategies.Strategy
	batch *streams.Batch
	rng   *rand.Rand
	// Losses holds the loss of every step.
	Losses []float64
}

// NewDriver sets the strategy up.
func NewDriver(tb testing.TB, ctx *strategies.Context, s strategies.Strategy) *Driver {
	tb.Helper()
	if err := s.Setup(ctx); err != nil {
		tb.Fatal(err)
	}
	d := &Driver{Ctx: ctx, Strat: s, rng: rand.New(rand.NewPCG(9, 9))}
	d.batch = &streams.Batch{
		X:   make([]float32, ctx.BatchSize*ctx.Stream.InputDim),
		Y:   make([]int32, ctx.BatchSize),
		Pos: make([]int32, 0, ctx.BatchSize),
	}
	return d
}

// Experience trains experience k (1-based) for the given number of
// epochs, with BeforeExperience and AfterExperience.
func (d *Driver) Experience(tb testing.TB, k, epochs int) {
	tb.Helper()
	exp := d.Ctx.Stream.Experiences[k-1]
	d.Ctx.Current = exp
	if err := d.Strat.BeforeExperience(d.Ctx, exp); err != nil {
		tb.Fatal(err)
	}
	l := streams.NewLoader(exp.Train, d.Ctx.BatchSize, d.rng)
	n := epochs * l.BatchesPerEpoch()
	d.Ctx.ExperienceIterations = n
	for range n {
		l.Next(d.batch)
		d.batch.Experience = exp.ID
		d.batch.Mask = d.Ctx.Stream.Mask(exp.Task)
		res, err := d.Strat.Step(d.Ctx, d.batch)
		if err != nil {
			tb.Fatal(err)
		}
		d.Losses = append(d.Losses, res.Loss)
		d.Ctx.Iteration++
	}
	if err := d.Strat.AfterExperience(d.Ctx, exp); err != nil {
		tb.Fatal(err)
	}
}

// Start begins experience k without training it: BeforeExperience and a
// loader, for Step.
func (d *Driver) Start(tb testing.TB, k int) *streams.Loader {
	tb.Helper()
	exp := d.Ctx.Stream.Experiences[k-1]
	d.Ctx.Current = exp
	if err := d.Strat.BeforeExperience(d.Ctx, exp); err != nil {
		tb.Fatal(err)
	}
	return streams.NewLoader(exp.Train, d.Ctx.BatchSize, d.rng)
}

// Step draws the next batch of l and makes one step; it returns the loss.
func (d *Driver) Step(tb testing.TB, l *streams.Loader) float64 {
	l.Next(d.batch)
	exp := d.Ctx.Current
	d.batch.Experience = exp.ID
	d.batch.Mask = d.Ctx.Stream.Mask(exp.Task)
	res, err := d.Strat.Step(d.Ctx, d.batch)
	if err != nil {
		tb.Fatal(err)
	}
	d.Ctx.Iteration++
	return res.Loss
}

// Batch returns the driver's batch (the last one stepped on).
func (d *Driver) Batch() *streams.Batch { return d.batch }

// BenchSteps trains the first experience for one epoch, starts the second
// and runs the benchmark's steps on it (the strategy warmed up: memories
// filled, buffers sized), reporting allocations.
func BenchSteps(b *testing.B, name, params string, o Options) {
	s := Stream(o)
	ctx := Context(s, o)
	d := NewDriver(b, ctx, New(b, name, params))
	d.Experience(b, 1, 1)
	l := d.Start(b, 2)
	for range 3 {
		d.Step(b, l)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		d.Step(b, l)
	}
}

// AllocsPerStep returns the average allocations of a warmed-up step (see
// BenchSteps).
func AllocsPerStep(tb testing.TB, name, params string, o Options) float64 {
	tb.Helper()
	s := Stream(o)
	ctx := Context(s, o)
	d := NewDriver(tb, ctx, New(tb, name, params))
	d.Experience(tb, 1, 1)
	l := d.Start(tb, 2)
	for range 3 {
		d.Step(tb, l)
	}
	return testing.AllocsPerRun(20, func() { d.Step(tb, l) })
}
