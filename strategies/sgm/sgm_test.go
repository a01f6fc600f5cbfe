package sgm

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/cleval/cleval/nn"
	"github.com/cleval/cleval/strategies"
	_ "github.com/cleval/cleval/strategies/finetune"
	_ "github.com/cleval/cleval/strategies/regularize"
	_ "github.com/cleval/cleval/strategies/replay"
	"github.com/cleval/cleval/strategies/strategytest"
	"github.com/cleval/cleval/streams"
)

const erBase = `"base":"er","base_params":{"mem_size":60}`

// TestProperties runs the strategy kit on SGM with every component and
// with each alone.
func TestProperties(t *testing.T) {
	for _, c := range []struct{ name, params string }{
		{"all", `{` + erBase + `,"rank":4,"lora_alpha":4}`},
		{"init", `{` + erBase + `,"components":["init"]}`},
		{"soft", `{` + erBase + `,"components":["soft"]}`},
		{"lora", `{` + erBase + `,"components":["lora"],"rank":2,"lora_alpha":4}`},
		{"oocf", `{` + erBase + `,"components":["oocf"]}`},
		{"none", `{` + erBase + `,"components":[]}`},
		{"naive-start1", `{"rank":4,"lora_alpha":4,"start":1,"init_bias":"zero"}`},
	} {
		t.Run(c.name, func(t *testing.T) {
			strategytest.Check(t, "sgm", c.params, strategytest.Options{Hidden: []int{16, 12}})
		})
	}
	t.Run("task-incremental", func(t *testing.T) {
		strategytest.Check(t, "sgm", `{`+erBase+`,"rank":3,"lora_alpha":3}`,
			strategytest.Options{Scenario: streams.TaskIncremental})
	})
}

func TestRejects(t *testing.T) {
	strategytest.CheckRejects(t, "sgm",
		`{"rank":0}`,
		`{"rank":-3}`,
		`{"components":["init","dropout"]}`,
		`{"components":["soft","soft"]}`,
		`{"start":0}`,
		`{"init_bias":"random"}`,
		`{"lora_alpha":0}`,
		`{"lora_lr_scale":-1}`,
		`{"base":"nope"}`,
		`{"base":"er","base_params":{"mem_size":0}}`,
		`{"tau":1}`,
	)
}

// TestSoftSkipsMaskedSegments: on a task-incremental stream the segments'
// softmax is restricted and the soft targets leave them alone: SGM with
// soft alone trains exactly as its base.
func TestSoftSkipsMaskedSegments(t *testing.T) {
	o := strategytest.Options{Scenario: streams.TaskIncremental}
	run := func(name, params string) []float32 {
		s := strategytest.Stream(o)
		ctx := strategytest.Context(s, o)
		d := strategytest.NewDriver(t, ctx, strategytest.New(t, name, params))
		d.Experience(t, 1, 1)
		d.Experience(t, 2, 1)
		return slices.Clone(ctx.Model.Params())
	}
	if !slices.Equal(run("sgm", `{`+erBase+`,"components":["soft"]}`), run("er", `{"mem_size":60}`)) {
		t.Error("soft targets changed the training of masked segments")
	}
}

// newDriver returns a driver over a 6-class, 3-experience stream with a
// 2-hidden-layer MLP.
func newDriver(t *testing.T, params string, lr float64, wd float64) (*strategytest.Driver, *SGM) {
	t.Helper()
	o := strategytest.Options{Hidden: []int{16, 12}, LR: lr}
	s := strategytest.Stream(o)
	ctx := strategytest.Context(s, o)
	if wd > 0 {
		ctx.Optimizer = nn.NewSGD(nn.SGDConfig{LR: lr, Momentum: 0.9, WeightDecay: wd}, len(ctx.Model.Params()))
	}
	st := strategytest.New(t, "sgm", params)
	return strategytest.NewDriver(t, ctx, st), st.(*SGM)
}

// TestDataInitIsClassMean: at the start of experience 2 the head column of
// each new class is the mean of its samples' unit-length features
// (computed here directly), the bias kept or zeroed.
func TestDataInitIsClassMean(t *testing.T) {
	for _, bias := range []string{InitBiasKeep, InitBiasZero} {
		d, s := newDriver(t, `{`+erBase+`,"components":["init"],"init_bias":"`+bias+`"}`, 0.05, 0)
		d.Experience(t, 1, 1)
		m := d.Ctx.Model
		before := slices.Clone(m.Params())
		exp := d.Ctx.Stream.Experiences[1]
		// Reference: one sample at a time.
		F := m.FeatureDim()
		ws := m.NewWorkspace(1)
		x := make([]float32, m.InputDim())
		y := make([]int32, 1)
		means := map[int32][]float64{}
		counts := map[int32]int{}
		for p := range exp.Train.Len() {
			exp.Train.Gather(x, y, []int32{int32(p)}, nil)
			m.Infer(m.Params(), m.State(), ws, x, 1)
			z := m.Features(ws)
			norm := 0.0
			for _, v := range z {
				norm += float64(v) * float64(v)
			}
			norm = math.Sqrt(norm)
			if means[y[0]] == nil {
				means[y[0]] = make([]float64, F)
			}
			for j, v := range z {
				means[y[0]][j] += float64(v) / norm
			}
			counts[y[0]]++
		}
		d.Start(t, 2)
		p := m.Params()
		h := m.Head()
		for c := range h.Out {
			isNew := slices.Contains(exp.Classes, int32(c))
			for i := range h.In {
				got := p[h.W+i*h.Out+c]
				if !isNew {
					if got != before[h.W+i*h.Out+c] {
						t.Fatalf("class %d (not new): weight %d changed", c, i)
					}
					continue
				}
				want := means[int32(c)][i] / float64(counts[int32(c)])
				if math.Abs(float64(got)-want) > 1e-6 {
					t.Fatalf("%s: class %d, weight %d: %v, want the class mean %v", bias, c, i, got, want)
				}
			}
			wantB := before[h.B+c]
			if isNew && bias == InitBiasZero {
				wantB = 0
			}
			if p[h.B+c] != wantB {
				t.Errorf("%s: class %d: bias %v, want %v", bias, c, p[h.B+c], wantB)
			}
		}
		if s.cnts[exp.Classes[0]] != counts[exp.Classes[0]] {
			t.Errorf("count %d, want %d", s.cnts[exp.Classes[0]], counts[exp.Classes[0]])
		}
	}
}

// TestOOCFFreezesOldRows: during experience 2, with momentum and weight
// decay, the output weights and biases of experience 1's classes stay
// bit-identical while the others move.
func TestOOCFFreezesOldRows(t *testing.T) {
	d, _ := newDriver(t, `{`+erBase+`,"components":["oocf"]}`, 0.05, 0.01)
	d.Experience(t, 1, 1)
	m := d.Ctx.Model
	h := m.Head()
	before := slices.Clone(m.Params())
	old := d.Ctx.Stream.Experiences[0].Classes
	d.Experience(t, 2, 1)
	p := m.Params()
	moved := 0
	for c := range h.Out {
		isOld := slices.Contains(old, int32(c))
		for i := range h.In + 1 {
			at := h.W + i*h.Out + c
			if i == h.In {
				at = h.B + c
			}
			if isOld && math.Float32bits(p[at]) != math.Float32bits(before[at]) {
				t.Fatalf("old class %d: parameter %d changed: %v -> %v", c, i, before[at], p[at])
			}
			if !isOld && p[at] != before[at] {
				moved++
			}
		}
	}
	if moved == 0 {
		t.Error("no output parameter of a non-old class moved")
	}
}

// TestLoRAForwardAndMerge: during an experience with LoRA the hidden
// layers compute x·(W0 + s·P·Q) + b with W0 and b frozen (checked against
// the unmerged forward x·W0 + s·(x·P)·Q + b); at the experience end the
// merge leaves the model's function bit-identical and restarts the
// adapters at Q = 0.
func TestLoRAForwardAndMerge(t *testing.T) {
	d, s := newDriver(t, `{`+erBase+`,"components":["lora"],"rank":3,"lora_alpha":6}`, 0.05, 0.01)
	d.Experience(t, 1, 1)
	m := d.Ctx.Model
	start := slices.Clone(m.Params())
	l := d.Start(t, 2)
	for range 12 {
		d.Step(t, l)
	}
	p := m.Params()
	r := s.cfg.Rank
	sc := float64(s.scale)
	if sc != 2 {
		t.Fatalf("scale %v, want alpha/rank = 2", sc)
	}
	qNonzero := false
	for _, a := range s.layers {
		In, Out := a.M.Rows, a.M.Cols
		// W0 and the biases are those of the experience start.
		for i := range In * Out {
			if a.w0[i] != start[a.M.W+i] {
				t.Fatal("W0 is not the weights at the experience start")
			}
		}
		for o := range Out {
			if p[a.M.B+o] != start[a.M.B+o] {
				t.Fatalf("hidden bias %d moved", o)
			}
		}
		P, Q := s.lp[a.p:a.p+In*r], s.lp[a.q:a.q+r*Out]
		for _, v := range Q {
			qNonzero = qNonzero || v != 0
		}
		// The unmerged layer on a random input row against the merged
		// weights the model uses.
		rng := rand.New(rand.NewPCG(1, 2))
		x := make([]float64, In)
		for i := range x {
			x[i] = rng.NormFloat64()
		}
		for o := range Out {
			base, low := 0.0, 0.0
			for i := range In {
				base += x[i] * float64(a.w0[i*Out+o])
			}
			for k := range r {
				xp := 0.0
				for i := range In {
					xp += x[i] * float64(P[i*r+k])
				}
				low += xp * float64(Q[k*Out+o])
			}
			unmerged := base + sc*low
			merged := 0.0
			for i := range In {
				merged += x[i] * float64(p[a.M.W+i*Out+o])
			}
			if math.Abs(unmerged-merged) > 1e-5*(1+math.Abs(unmerged)) {
				t.Fatalf("layer output %d: unmerged forward %v, merged weights give %v", o, unmerged, merged)
			}
		}
	}
	if !qNonzero {
		t.Fatal("the adapters did not train")
	}
	// Merge at the experience end: the function is unchanged.
	x := make([]float32, 4*m.InputDim())
	for i := range x {
		x[i] = float32(math.Sin(float64(i)))
	}
	ws := m.NewWorkspace(4)
	for range 5 {
		d.Step(t, l)
	}
	before := slices.Clone(m.Infer(m.Params(), m.State(), ws, x, 4))
	exp := d.Ctx.Stream.Experiences[1]
	if err := d.Strat.AfterExperience(d.Ctx, exp); err != nil {
		t.Fatal(err)
	}
	after := m.Infer(m.Params(), m.State(), ws, x, 4)
	for i := range after {
		if math.Float32bits(after[i]) != math.Float32bits(before[i]) {
			t.Fatalf("logit %d changed by the merge: %v -> %v", i, before[i], after[i])
		}
	}
	for _, a := range s.layers {
		for _, v := range s.lp[a.q : a.q+r*a.M.Cols] {
			if v != 0 {
				t.Fatal("Q is not 0 after the merge")
			}
		}
		for i := range a.M.Rows * a.M.Cols {
			if a.w0[i] != m.Params()[a.M.W+i] {
				t.Fatal("W0 is not the merged weights")
			}
		}
	}
}

// TestSoftTargetRule checks the target of hand-computed rows.
func TestSoftTargetRule(t *testing.T) {
	// C = 4, label 2, predicted 0, q from (0.1, 0.2, 0.3, 0.4):
	// q[0] = 1/4, q[2] = 1 → (0.25, 0.2, 1, 0.4)/1.85.
	q := []float64{0.1, 0.2, 0.3, 0.4}
	SoftTarget(q, 2, 0)
	want := []float64{0.25 / 1.85, 0.2 / 1.85, 1 / 1.85, 0.4 / 1.85}
	for c := range q {
		if math.Abs(q[c]-want[c]) > 1e-15 {
			t.Fatalf("q = %v, want %v", q, want)
		}
	}
	// Predicted = label: q[label] = 1 wins.
	q = []float64{0.25, 0.25, 0.25, 0.25}
	SoftTarget(q, 1, 1)
	want = []float64{0.25 / 1.75, 1 / 1.75, 0.25 / 1.75, 0.25 / 1.75}
	for c := range q {
		if math.Abs(q[c]-want[c]) > 1e-15 {
			t.Fatalf("q = %v, want %v", q, want)
		}
	}
}

// softFixture is an SGM with soft targets active on a 5-class model, class
// 0 and 1 old, with soft targets S set by hand.
func softFixture(t *testing.T) *SGM {
	t.Helper()
	o := strategytest.Options{Classes: 5, Experiences: 5}
	ctx := strategytest.Context(strategytest.Stream(o), o)
	s := strategytest.New(t, "sgm", `{"components":["soft"]}`).(*SGM)
	if err := s.Setup(ctx); err != nil {
		t.Fatal(err)
	}
	s.active = true
	s.old[0], s.old[1] = true, true
	for c := range 5 {
		for j := range 5 {
			s.final[c*5+j] = 0.2
		}
	}
	copy(s.final[0:5], []float64{0.7, 0.1, 0.1, 0.05, 0.05})
	return s
}

// TestSoftLossAndGradient: the hook's term plus the plain cross-entropy is
// the soft-target cross-entropy, and the resulting logit gradient matches
// finite differences of that loss with the targets held constant.
func TestSoftLossAndGradient(t *testing.T) {
	s := softFixture(t)
	const n, C = 4, 5
	rng := rand.New(rand.NewPCG(3, 4))
	z := make([]float32, n*C)
	for i := range z {
		z[i] = float32(rng.NormFloat64())
	}
	z[0*C+0] += 3 // row 0 (class 0, old) predicted right
	y := []int32{0, 1, 3, 4}
	w := 0.7
	seg := strategies.Segment{N: n, Weight: w}
	dl := make([]float32, n*C)
	ce, _ := nn.SoftmaxCE(z, n, C, y, nn.SoftmaxMask{}, float32(w/n), dl)
	u := &strategies.Update{Y: y, N: n, Segs: []strategies.Segment{seg}}
	add := s.HookLogits(nil, u, 0, z, dl)

	// The targets, held constant: old rows from S, new rows from p.
	q := make([][]float64, n)
	p := make([]float64, C)
	for r := range n {
		pred := softmax(z[r*C:(r+1)*C], p)
		q[r] = make([]float64, C)
		if y[r] <= 1 {
			copy(q[r], s.final[int(y[r])*C:(int(y[r])+1)*C])
		} else {
			copy(q[r], p)
		}
		SoftTarget(q[r], int(y[r]), pred)
	}
	loss := func(z []float32) float64 {
		L := 0.0
		for r := range n {
			softmax(z[r*C:(r+1)*C], p)
			for c := range C {
				L -= q[r][c] * math.Log(p[c])
			}
		}
		return w * L / n
	}
	if got, want := w*ce/n+add, loss(z); math.Abs(got-want) > 1e-6 {
		t.Fatalf("CE + hook = %v, soft-target CE = %v", got, want)
	}
	const h = 1e-3
	for i := range z {
		zz := slices.Clone(z)
		zz[i] += h
		up := loss(zz)
		zz[i] -= 2 * h
		fd := (up - loss(zz)) / (2 * h)
		if math.Abs(fd-float64(dl[i])) > 2e-4 {
			t.Fatalf("logit %d: gradient %v, finite difference %v", i, dl[i], fd)
		}
	}
	// Row 0 was classified right: its softmax is accumulated for class 0.
	if s.cnt[0] != 1 {
		t.Fatalf("count of class 0: %v, want 1", s.cnt[0])
	}
	softmax(z[0:C], p)
	for c := range C {
		if s.cur[c] != p[c] {
			t.Fatalf("accumulated softmax %v, want %v", s.cur[:C], p)
		}
	}
}

// TestSoftTargetsRenewed: after an update the soft target of a class is the
// mean softmax of its correctly classified rows since the experience
// start, uniform for a class with none.
func TestSoftTargetsRenewed(t *testing.T) {
	d, s := newDriver(t, `{`+erBase+`,"components":["soft"]}`, 0.05, 0)
	d.Experience(t, 1, 2)
	l := d.Start(t, 2)
	for range 3 {
		d.Step(t, l)
	}
	C := s.C
	for c := range C {
		for j := range C {
			want := 1 / float64(C)
			if s.cnt[c] > 0 {
				want = s.cur[c*C+j] / s.cnt[c]
			}
			if s.final[c*C+j] != want {
				t.Fatalf("S[%d][%d] = %v, want %v", c, j, s.final[c*C+j], want)
			}
		}
	}
	if s.cnt[0]+s.cnt[1] == 0 {
		t.Error("no old row classified right after an epoch of training")
	}
}

// TestInactiveBeforeStart: in the experiences before start SGM is the
// wrapped strategy alone, bit for bit.
func TestInactiveBeforeStart(t *testing.T) {
	o := strategytest.Options{Hidden: []int{16, 12}}
	run := func(name, params string) []float32 {
		s := strategytest.Stream(o)
		ctx := strategytest.Context(s, o)
		d := strategytest.NewDriver(t, ctx, strategytest.New(t, name, params))
		d.Experience(t, 1, 2)
		return slices.Clone(ctx.Model.Params())
	}
	a := run("sgm", `{`+erBase+`,"rank":4}`)
	b := run("er", `{"mem_size":60}`)
	if !slices.Equal(a, b) {
		t.Error("sgm differs from its base in experience 1")
	}
}
