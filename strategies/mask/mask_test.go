package mask

import (
	"encoding/json"
	"math"
	"testing"

	"github.com/cleval/cleval/strategies"
	_ "github.com/cleval/cleval/strategies/finetune"
	_ "github.com/cleval/cleval/strategies/replay"
	"github.com/cleval/cleval/strategies/strategytest"
	"github.com/cleval/cleval/streams"
)

// outputGrads returns the gradient of the output layer's bias and, per
// class, the largest absolute gradient of its weight column.
func outputGrads(ctx *strategies.Context) (bias []float32, col []float64) {
	g := ctx.Model.Grads()
	C := ctx.Model.OutputDim()
	bias = g[len(g)-C:]
	// The output weight block precedes the bias: In×C row-major.
	in := 16 // strattest's default hidden size
	w := g[len(g)-C-in*C : len(g)-C]
	col = make([]float64, C)
	for i := range in {
		for c := range C {
			col[c] = max(col[c], math.Abs(float64(w[i*C+c])))
		}
	}
	return bias, col
}

// TestMaskedLogitsGetZeroGradient: with masking, the logits of the classes
// outside the current experience receive exactly zero gradient from the
// new data, for m = −∞ and for a finite m; without replay nothing else
// reaches them.
func TestMaskedLogitsGetZeroGradient(t *testing.T) {
	for _, tc := range []struct {
		params string
		scen   streams.Scenario
	}{
		{`{}`, streams.ClassIncremental},
		{`{"value":-2}`, streams.ClassIncremental},
		{`{"value":"-inf"}`, streams.TaskIncremental},
		{`{"value":0}`, streams.TaskIncremental},
	} {
		o := strategytest.Options{Scenario: tc.scen}
		s := strategytest.Stream(o)
		ctx := strategytest.Context(s, o)
		d := strategytest.NewDriver(t, ctx, strategytest.New(t, "mask", tc.params))
		d.Experience(t, 1, 1)
		l := d.Start(t, 2)
		for range 3 {
			d.Step(t, l)
			bias, col := outputGrads(ctx)
			cur := map[int32]bool{}
			for _, c := range ctx.Current.Classes {
				cur[c] = true
			}
			nonzero := 0
			for c := range bias {
				if !cur[int32(c)] {
					if bias[c] != 0 || col[c] != 0 {
						t.Errorf("%s %s: class %d (not current) has gradient %v / %v", tc.params, tc.scen, c, bias[c], col[c])
					}
				} else if bias[c] != 0 {
					nonzero++
				}
			}
			if nonzero == 0 {
				t.Errorf("%s: the current classes get no gradient either", tc.params)
			}
		}
	}
	// Without masking the old classes' logits do get gradient (the test
	// above is not vacuous).
	o := strategytest.Options{}
	s := strategytest.Stream(o)
	ctx := strategytest.Context(s, o)
	d := strategytest.NewDriver(t, ctx, strategytest.New(t, "naive", `{}`))
	d.Experience(t, 1, 1)
	l := d.Start(t, 2)
	d.Step(t, l)
	if bias, _ := outputGrads(ctx); bias[0] == 0 {
		t.Error("naive: old class 0 gets no gradient")
	}
}

// TestMaskLeavesReplayAlone: with er as the base the replayed rows still
// reach the old classes.
func TestMaskLeavesReplayAlone(t *testing.T) {
	o := strategytest.Options{}
	s := strategytest.Stream(o)
	ctx := strategytest.Context(s, o)
	d := strategytest.NewDriver(t, ctx, strategytest.New(t, "mask", `{"base":"er","base_params":{"mem_size":50}}`))
	d.Experience(t, 1, 1)
	l := d.Start(t, 2)
	d.Step(t, l)
	if bias, _ := outputGrads(ctx); bias[0] == 0 && bias[1] == 0 {
		t.Error("replayed old classes get no gradient")
	}
}

func TestMaskValueJSON(t *testing.T) {
	for raw, want := range map[string]float64{`{"value":"-inf"}`: math.Inf(-1), `{"value":-3.5}`: -3.5, `{"value":"2"}`: 2, `{}`: math.Inf(-1)} {
		r, err := strategies.Resolve("mask", json.RawMessage(raw))
		if err != nil {
			t.Fatalf("%s: %v", raw, err)
		}
		if got := float64(r.Strategy.(*Mask).cfg.Value); got != want {
			t.Errorf("%s: value %v, want %v", raw, got, want)
		}
		b := r.Params
		back, err := strategies.Resolve("mask", b)
		if err != nil || float64(back.Strategy.(*Mask).cfg.Value) != want {
			t.Errorf("%s: resolved parameters %s do not round-trip", raw, b)
		}
	}
	for _, raw := range []string{`{"value":"inf"}`, `{"value":"x"}`, `{"value":true}`} {
		if _, err := strategies.Resolve("mask", json.RawMessage(raw)); err == nil {
			t.Errorf("%s accepted", raw)
		}
	}
}

func BenchmarkStepMask(b *testing.B) {
	strategytest.BenchSteps(b, "mask", `{"base":"er","base_params":{"mem_size":100},"value":-5}`, strategytest.Options{})
}
