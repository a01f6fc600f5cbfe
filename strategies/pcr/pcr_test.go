package pcr

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/cleval/cleval/datasets"
	"github.com/cleval/cleval/nn"
	"github.com/cleval/cleval/strategies"
	"github.com/cleval/cleval/strategies/strategytest"
	"github.com/cleval/cleval/streams"
)

func TestProperties(t *testing.T) {
	for _, c := range []struct{ name, params string }{
		{"no-augment", `{"mem_size":50,"augment":[]}`},
		{"ce", `{"mem_size":50,"augment":[],"ce_weight":0.5,"tau":0.2}`},
		{"no-mask", `{"mem_size":50,"augment":[],"mask_unseen":false,"replay_batch_size":8}`},
	} {
		t.Run(c.name, func(t *testing.T) {
			strategytest.Check(t, "pcr", c.params, strategytest.Options{Hidden: []int{16, 12}})
		})
	}
	t.Run("task-incremental", func(t *testing.T) {
		strategytest.Check(t, "pcr", `{"mem_size":50,"augment":[]}`, strategytest.Options{Scenario: streams.TaskIncremental})
	})
}

func TestRejects(t *testing.T) {
	strategytest.CheckRejects(t, "pcr",
		`{"tau":0}`,
		`{"tau":-0.1}`,
		`{"mem_size":0}`,
		`{"replay_batch_size":-1}`,
		`{"ce_weight":-1}`,
		`{"augment":["crop","rotate"]}`,
		`{"augment":["flip","flip"]}`,
		`{"crop_scale_min":0}`,
		`{"crop_scale_min":1.5}`,
		`{"temperature":0.1}`,
	)
}

// TestSetupRefusals: augmentation on samples that are not images is
// refused at setup.
func TestSetupRefusals(t *testing.T) {
	o := strategytest.Options{}
	ctx := strategytest.Context(strategytest.Stream(o), o)
	if err := strategytest.New(t, "pcr", `{}`).Setup(ctx); err == nil {
		t.Error("augmentation of flat samples accepted")
	}
}

// supCon is the supervised contrastive loss of the authors' code in its
// "proxy" mode, written out over the N×N matrix: anchors ẑ_i, contrast
// vectors ŵ_{y_j}, positives the rows of the anchor's label (itself
// included), the mean over the anchors of −(mean over positives of
// log_prob).
func supCon(z [][]float64, w [][]float64, y []int, tau float64) float64 {
	norm := func(v []float64) []float64 {
		n := 0.0
		for _, x := range v {
			n += x * x
		}
		out := make([]float64, len(v))
		for i, x := range v {
			out[i] = x / (math.Sqrt(n) + 1e-6)
		}
		return out
	}
	N := len(z)
	loss := 0.0
	for i := range N {
		a := norm(z[i])
		logits := make([]float64, N)
		for j := range N {
			c := norm(w[y[j]])
			for k := range a {
				logits[j] += a[k] * c[k]
			}
			logits[j] /= tau
		}
		den := 0.0
		for j := range N {
			den += math.Exp(logits[j])
		}
		pos, npos := 0.0, 0
		for j := range N {
			if y[j] == y[i] {
				pos += logits[j] - math.Log(den)
				npos++
			}
		}
		loss += -pos / float64(npos)
	}
	return loss / float64(N)
}

// fixture returns a PCR whose loss buffers fit n rows of F features and C
// classes.
func fixture(t *testing.T, params string, n, F, C int) *PCR {
	t.Helper()
	s := strategytest.New(t, "pcr", params).(*PCR)
	s.zh, s.zn = make([]float64, n*F), make([]float64, n)
	s.wh, s.wn = make([]float64, C*F), make([]float64, C)
	s.s, s.g = make([]float64, n*C), make([]float64, n*C)
	s.counts, s.tmp = make([]float64, C), make([]float64, F)
	return s
}

// TestLossOnFourSamples: the loss of a 4-sample batch (labels 0, 2, 0, 1
// of 4 classes, class 3 absent) equals the direct evaluation of the
// formula.
func TestLossOnFourSamples(t *testing.T) {
	const n, F, C = 4, 3, 4
	feats := []float32{
		1, 0.5, 0,
		0, 2, 1,
		0.3, 0.1, 0.9,
		1, 1, 1,
	}
	w := make([]float32, F*C) // w[j·C + c]
	cols := [][]float64{{1, 0, 0}, {0, 1, 0}, {0.5, 0.5, 2}, {-1, 0.2, 0.3}}
	for c, col := range cols {
		for j, v := range col {
			w[j*C+c] = float32(v)
		}
	}
	y := []int32{0, 2, 0, 1}
	s := fixture(t, `{"tau":0.09}`, n, F, C)
	got := s.Loss(feats, w, y, n, F, C, make([]float32, n*F), make([]float32, F*C))
	z := make([][]float64, n)
	for r := range n {
		for j := range F {
			z[r] = append(z[r], float64(feats[r*F+j]))
		}
	}
	want := supCon(z, cols, []int{0, 2, 0, 1}, 0.09)
	if math.Abs(got-want) > 1e-9*math.Abs(want) {
		t.Fatalf("loss %v, direct evaluation %v", got, want)
	}
	// Hand check of one term: anchor 3 (label 1) has one positive
	// (itself); its loss is log Σ_j exp(s_{3,y_j}/τ) − s_{3,1}/τ.
	if math.IsNaN(got) || got <= 0 {
		t.Fatalf("loss %v", got)
	}
}

// TestLossGradient checks the gradients with respect to the features and
// the proxies against central finite differences, with and without the
// cross-entropy term.
func TestLossGradient(t *testing.T) {
	const n, F, C = 6, 5, 4
	rng := rand.New(rand.NewPCG(5, 6))
	feats := make([]float32, n*F)
	for i := range feats {
		feats[i] = float32(rng.Float64()*2 - 0.5)
	}
	w := make([]float32, F*C)
	for i := range w {
		w[i] = float32(rng.NormFloat64())
	}
	y := []int32{0, 1, 1, 3, 0, 3}
	for _, params := range []string{`{"tau":0.5}`, `{"tau":0.3,"ce_weight":0.7}`} {
		s := fixture(t, params, n, F, C)
		dz, dw := make([]float32, n*F), make([]float32, F*C)
		s.Loss(feats, w, y, n, F, C, dz, dw)
		loss := func() float64 {
			return s.Loss(feats, w, y, n, F, C, make([]float32, n*F), make([]float32, F*C))
		}
		const h = 1e-3
		check := func(name string, v []float32, an []float32) {
			for i := range v {
				o := v[i]
				v[i] = o + h
				up := loss()
				v[i] = o - h
				dn := loss()
				v[i] = o
				fd := (up - dn) / (2 * h)
				if math.Abs(fd-float64(an[i])) > 2e-3+1e-2*math.Abs(fd) {
					t.Fatalf("%s: %s[%d]: gradient %v, finite difference %v", params, name, i, an[i], fd)
				}
			}
		}
		check("features", feats, dz)
		check("proxies", w, dw)
	}
}

// TestNoUpdateWhileMemoryEmpty: the first step (empty memory) changes no
// parameter but fills the memory; the second one updates.
func TestNoUpdateWhileMemoryEmpty(t *testing.T) {
	o := strategytest.Options{Hidden: []int{12}}
	s := strategytest.Stream(o)
	ctx := strategytest.Context(s, o)
	st := strategytest.New(t, "pcr", `{"augment":[]}`).(*PCR)
	d := strategytest.NewDriver(t, ctx, st)
	l := d.Start(t, 1)
	before := slices.Clone(ctx.Model.Params())
	if loss := d.Step(t, l); loss != 0 {
		t.Fatalf("loss %v with an empty memory", loss)
	}
	// Only the evaluated head (masking of the unseen classes) may differ.
	h := ctx.Model.Head()
	p := ctx.Model.Params()
	for i := range h.W {
		if p[i] != before[i] {
			t.Fatalf("parameter %d moved without an update", i)
		}
	}
	if st.mem.Len() != ctx.BatchSize {
		t.Fatalf("memory holds %d, want %d", st.mem.Len(), ctx.BatchSize)
	}
	if loss := d.Step(t, l); loss == 0 {
		t.Fatal("no update with a filled memory")
	}
	for i := range h.W {
		if p[i] != before[i] {
			return
		}
	}
	t.Fatal("the hidden layers did not move")
}

// TestEvaluatedHead: between updates the head holds ŵ_c/τ with bias 0 for
// the classes seen and −1e9 for the others, so the model's argmax is the
// cosine classifier's among the seen classes; during the update the raw
// proxies are back.
func TestEvaluatedHead(t *testing.T) {
	o := strategytest.Options{Hidden: []int{12}}
	s := strategytest.Stream(o)
	ctx := strategytest.Context(s, o)
	st := strategytest.New(t, "pcr", `{"augment":[],"tau":0.5}`).(*PCR)
	d := strategytest.NewDriver(t, ctx, st)
	d.Experience(t, 1, 1)
	m := ctx.Model
	h := m.Head()
	p := m.Params()
	seen := s.Experiences[0].Classes
	for c := range h.Out {
		norm := 0.0
		for i := range h.In {
			v := float64(st.proxies[i*h.Out+c])
			norm += v * v
		}
		for i := range h.In {
			want := float32(float64(st.proxies[i*h.Out+c]) / ((math.Sqrt(norm) + 1e-6) * 0.5))
			if p[h.W+i*h.Out+c] != want {
				t.Fatalf("class %d weight %d: %v, want %v", c, i, p[h.W+i*h.Out+c], want)
			}
		}
		wantB := float32(unseenBias)
		if slices.Contains(seen, int32(c)) {
			wantB = 0
		}
		if p[h.B+c] != wantB {
			t.Fatalf("class %d bias %v, want %v", c, p[h.B+c], wantB)
		}
	}
	// The argmax of the evaluated model is the cosine argmax over seen
	// classes.
	exp := s.Experiences[1]
	n := exp.Test.Len()
	x := make([]float32, n*m.InputDim())
	y := make([]int32, n)
	pos := make([]int32, n)
	for i := range pos {
		pos[i] = int32(i)
	}
	exp.Test.Gather(x, y, pos, nil)
	ws := m.NewWorkspace(n)
	logits := m.Infer(p, nil, ws, x, n)
	feats := m.Features(ws)
	for r := range n {
		got := argmax(logits[r*h.Out : (r+1)*h.Out])
		best, arg := math.Inf(-1), -1
		for _, c := range seen {
			dot, wn := 0.0, 0.0
			for i := range h.In {
				wv := float64(st.proxies[i*h.Out+int(c)])
				dot += float64(feats[r*h.In+i]) * wv
				wn += wv * wv
			}
			if cos := dot / math.Sqrt(wn); cos > best {
				best, arg = cos, int(c)
			}
		}
		if got != arg {
			t.Fatalf("row %d: model predicts %d, cosine classifier over seen classes %d", r, got, arg)
		}
	}
}

func argmax(v []float32) int {
	a := 0
	for i := range v {
		if v[i] > v[a] {
			a = i
		}
	}
	return a
}

// imageStream is a 4-class stream of 6×6 images in 2 experiences.
func imageStream() *streams.Stream {
	rng := rand.New(rand.NewPCG(3, 3))
	mk := func(per int) *datasets.Dataset {
		d := &datasets.Dataset{Name: "img", Shape: []int{6, 6}, NumClasses: 4}
		for c := range 4 {
			for range per {
				for j := range 36 {
					v := 0.2 * rng.Float64()
					if j%4 == c {
						v += 0.7
					}
					d.Features = append(d.Features, float32(v))
				}
				d.Labels = append(d.Labels, int32(c))
			}
		}
		return d
	}
	s, err := streams.SplitClasses(datasets.Pair{Train: mk(30), Test: mk(8)}, streams.SplitConfig{Name: "img", NumExperiences: 2})
	if err != nil {
		panic(err)
	}
	return s
}

// TestAugmentedRuns: with augmentation on image samples, two runs from the
// same seed are bit-identical, a warmed-up step allocates nothing, and the
// batch holds the augmented copies with their labels.
func TestAugmentedRuns(t *testing.T) {
	run := func() ([]float32, *PCR, *strategytest.Driver) {
		s := imageStream()
		o := strategytest.Options{Hidden: []int{10}, BatchSize: 8}
		ctx := strategytest.Context(s, o)
		st := strategytest.New(t, "pcr", `{"mem_size":40}`).(*PCR)
		d := strategytest.NewDriver(t, ctx, st)
		d.Experience(t, 1, 1)
		d.Experience(t, 2, 1)
		return slices.Clone(ctx.Model.Params()), st, d
	}
	a, st, d := run()
	b, _, _ := run()
	if !slices.Equal(a, b) {
		t.Fatal("two runs from the same seed differ")
	}
	l := streams.NewLoader(d.Ctx.Stream.Experiences[1].Train, 8, rand.New(rand.NewPCG(1, 1)))
	d.Step(t, l)
	if allocs := testing.AllocsPerRun(10, func() { d.Step(t, l) }); allocs != 0 {
		t.Errorf("%v allocations per step", allocs)
	}
	// Rows: 8 memory, 8 augmented memory, 8 new, 8 augmented new.
	for i := range 8 {
		if st.y[8+i] != st.y[i] || st.y[24+i] != st.y[16+i] {
			t.Fatalf("augmented row %d has another label", i)
		}
	}
	differs := false
	for i := range 36 {
		differs = differs || st.x[8*36+i] != st.x[i]
	}
	if !differs {
		t.Error("the augmented view equals its source")
	}
}

// TestAugmenter checks the components on hand-computed cases.
func TestAugmenter(t *testing.T) {
	const H, W = 4, 5
	src := make([]float32, H*W)
	for i := range src {
		src[i] = float32(i) / 20
	}
	// The full box resized to the full size is the image itself.
	dst := make([]float32, H*W)
	ResizeBilinear(dst, H, W, src, W, 0, 0, H, W)
	for i := range dst {
		if math.Abs(float64(dst[i]-src[i])) > 1e-6 {
			t.Fatalf("identity resize: %v, want %v", dst, src)
		}
	}
	// A 2×2 box at (1, 1) enlarged to 4×4: output (0, 0) maps to source
	// (−0.25, −0.25), clamped to the box's corner; output (1, 1) to
	// (0.25, 0.25) inside it.
	dst = make([]float32, 16)
	ResizeBilinear(dst, 4, 4, src, W, 1, 1, 2, 2)
	p := func(r, c int) float64 { return float64(src[(1+r)*W+1+c]) }
	if math.Abs(float64(dst[0])-p(0, 0)) > 1e-6 {
		t.Errorf("corner %v, want %v", dst[0], p(0, 0))
	}
	want := 0.75*(0.75*p(0, 0)+0.25*p(0, 1)) + 0.25*(0.75*p(1, 0)+0.25*p(1, 1))
	if math.Abs(float64(dst[5])-want) > 1e-6 {
		t.Errorf("interior %v, want %v", dst[5], want)
	}
	// Brightness and contrast.
	img := []float32{0.2, 0.4, 0.9}
	Brightness(img, 1.2)
	for i, w := range []float64{0.24, 0.48, 1} {
		if math.Abs(float64(img[i])-w) > 1e-6 {
			t.Fatalf("brightness: %v", img)
		}
	}
	img = []float32{0.2, 0.4, 0.9}
	Contrast(img, 0.5) // mean 0.5: 0.5·x + 0.25
	for i, w := range []float64{0.35, 0.45, 0.7} {
		if math.Abs(float64(img[i])-w) > 1e-6 {
			t.Fatalf("contrast: %v", img)
		}
	}
	// Crop boxes stay inside the image and cover at least the minimum
	// area (up to rounding).
	a := Augmenter{H: 28, W: 28, Crop: true, ScaleMin: 0.2}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 2000 {
		top, left, h, w := a.cropBox(rng)
		if top < 0 || left < 0 || top+h > 28 || left+w > 28 || h < 1 || w < 1 {
			t.Fatalf("box %d %d %d %d outside the image", top, left, h, w)
		}
		if float64(h*w) < 0.2*784*0.8 {
			t.Fatalf("box %d×%d smaller than the minimum area", h, w)
		}
	}
	// Flip only: a flip reverses each row.
	a = Augmenter{H: H, W: W, Flip: true, FlipP: 1}
	dst = make([]float32, H*W)
	a.Apply(rng, dst, src)
	for r := range H {
		for c := range W {
			if dst[r*W+c] != src[r*W+W-1-c] {
				t.Fatalf("flip: %v", dst[:H*W])
			}
		}
	}
}

// TestFeatureGradientsNeeded: a model without nn.FeatureGradients is
// refused.
func TestFeatureGradientsNeeded(t *testing.T) {
	o := strategytest.Options{}
	ctx := strategytest.Context(strategytest.Stream(o), o)
	ctx.Model = noFeatGrad{ctx.Model}
	if err := strategytest.New(t, "pcr", `{"augment":[]}`).Setup(ctx); err == nil {
		t.Fatal("a model without feature gradients accepted")
	}
}

type noFeatGrad struct{ nn.Model }

var _ strategies.Strategy = (*PCR)(nil)
