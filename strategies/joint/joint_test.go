package joint

import (
	"slices"
	"testing"

	"github.com/cleval/cleval/strategies"
	"github.com/cleval/cleval/strategies/strategytest"
)

// probe wraps a strategy and records the rows of each update.
type probe struct {
	strategies.Wrapper
	rows [][]int32 // labels of each update's rows
	segs [][]strategies.Segment
}

func (p *probe) Name() string                        { return "probe" }
func (p *probe) Params() any                         { return nil }
func (p *probe) Setup(ctx *strategies.Context) error { return p.Init(ctx, p) }
func (p *probe) HookGradient(_ *strategies.Context, u *strategies.Update) float64 {
	p.rows = append(p.rows, slices.Clone(u.Y))
	p.segs = append(p.segs, slices.Clone(u.Segs))
	return 0
}

func TestCumulativeUnionBatches(t *testing.T) {
	o := strategytest.Options{Classes: 6, Experiences: 3, PerClass: 40, BatchSize: 16}
	s := strategytest.Stream(o)
	ctx := strategytest.Context(s, o)
	p := &probe{Wrapper: strategies.Wrapper{Inner: strategytest.New(t, "cumulative", `{}`)}}
	d := strategytest.NewDriver(t, ctx, p)
	for k := 1; k <= 3; k++ {
		p.rows = p.rows[:0]
		d.Experience(t, k, 2)
		counts := make([]int, 6)
		for _, r := range p.rows {
			if len(r) != k*16 {
				t.Fatalf("experience %d: batch of %d, want %d", k, len(r), k*16)
			}
			for _, y := range r {
				counts[y]++
			}
		}
		// Classes of experiences 1..k only, each experience about 1/k of
		// the rows.
		total := len(p.rows) * k * 16
		for c, n := range counts {
			exp := c/2 + 1
			if exp > k && n > 0 {
				t.Errorf("experience %d: %d rows of future class %d", k, n, c)
			}
			if exp <= k {
				share := float64(counts[2*(exp-1)]+counts[2*(exp-1)+1]) / float64(total)
				if share < 0.6/float64(k) || share > 1.4/float64(k) {
					t.Errorf("experience %d: experience %d has %.2f of the rows, want about %.2f", k, exp, share, 1/float64(k))
				}
			}
		}
	}
}

func TestCumulativeStratified(t *testing.T) {
	o := strategytest.Options{Classes: 6, Experiences: 3, PerClass: 40, BatchSize: 16}
	s := strategytest.Stream(o)
	ctx := strategytest.Context(s, o)
	p := &probe{Wrapper: strategies.Wrapper{Inner: strategytest.New(t, "cumulative", `{"sampling":"stratified"}`)}}
	d := strategytest.NewDriver(t, ctx, p)
	d.Experience(t, 1, 1)
	d.Experience(t, 2, 1)
	p.rows = p.rows[:0]
	d.Experience(t, 3, 1)
	for i, r := range p.rows {
		perExp := make([]int, 3)
		for _, y := range r {
			perExp[y/2]++
		}
		newRows := p.segs[i][0].N
		if perExp[0] != 16 || perExp[1] != 16 || perExp[2] != newRows || !p.segs[i][0].New {
			t.Fatalf("update %d: rows per experience %v (new %d), want 16, 16 and the new batch", i, perExp, newRows)
		}
	}
}

func TestJointReinitialises(t *testing.T) {
	o := strategytest.Options{Classes: 4, Experiences: 2, BatchSize: 8}
	s := strategytest.Stream(o)
	ctx := strategytest.Context(s, o)
	p := &probe{Wrapper: strategies.Wrapper{Inner: strategytest.New(t, "joint", `{}`)}}
	d := strategytest.NewDriver(t, ctx, p)
	d.Experience(t, 1, 1)
	after1 := slices.Clone(ctx.Model.Params())
	d.Start(t, 2)
	fresh := ctx.Model.Params()
	if slices.Equal(after1, fresh) {
		t.Fatal("the model was not re-initialised at experience 2")
	}
	// PyTorch's init bounds: the first layer's weights within ±1/sqrt(fan_in).
	bound := float32(1 / 4.47) // fan_in 20
	for _, v := range fresh[:20*16] {
		if v > bound || v < -bound {
			t.Fatalf("re-initialised weight %v outside ±%v", v, bound)
		}
	}
	// Batches of experience 2 draw from both experiences.
	p.rows = p.rows[:0]
	l := d.Start(t, 2)
	for range 10 {
		d.Step(t, l)
	}
	seen := map[int32]bool{}
	for _, r := range p.rows {
		if len(r) != 8 {
			t.Fatalf("batch of %d, want 8", len(r))
		}
		for _, y := range r {
			seen[y] = true
		}
	}
	if !seen[0] && !seen[1] {
		t.Error("no sample of experience 1 during experience 2")
	}
}

func TestCumulativeValidate(t *testing.T) {
	if _, err := strategies.Resolve("cumulative", []byte(`{"sampling":"mixed"}`)); err == nil {
		t.Error("bad sampling accepted")
	}
	o := strategytest.Options{Classes: 2, Experiences: 2, PerClass: 4, BatchSize: 16}
	s := strategytest.Stream(o)
	ctx := strategytest.Context(s, o)
	c := strategytest.New(t, "cumulative", `{}`)
	if err := c.Setup(ctx); err != nil {
		t.Fatal(err)
	}
	ctx.Current = s.Experiences[0]
	if err := c.BeforeExperience(ctx, s.Experiences[0]); err == nil {
		t.Error("an experience smaller than one batch accepted with drop_last")
	}
}

func BenchmarkStepCumulative(b *testing.B) {
	strategytest.BenchSteps(b, "cumulative", `{}`, strategytest.Options{})
}

func BenchmarkStepJoint(b *testing.B) {
	strategytest.BenchSteps(b, "joint", `{}`, strategytest.Options{})
}
