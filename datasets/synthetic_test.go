package datasets

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// pairSum hashes everything Synthetic produced.
func pairSum(p Pair) string {
	h := sha256.New()
	for _, d := range []*Dataset{p.Train, p.Test} {
		h.Write([]byte(d.Name))
		h.Write(d.Pixels)
		binary.Write(h, binary.LittleEndian, d.Labels)
	}
	return hex.EncodeToString(h.Sum(nil))
}

func TestSyntheticDeterministic(t *testing.T) {
	cfg := SyntheticConfig{NumClasses: 10, Dim: 64, TrainPerClass: 200, TestPerClass: 50, Seed: 42}
	a, err := Synthetic(cfg)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := Synthetic(cfg)
	if !bytes.Equal(a.Train.Pixels, b.Train.Pixels) || !bytes.Equal(a.Test.Pixels, b.Test.Pixels) || pairSum(a) != pairSum(b) {
		t.Fatal("same config, different data")
	}
	cfg.Seed = 43
	c, _ := Synthetic(cfg)
	if bytes.Equal(a.Train.Pixels, c.Train.Pixels) {
		t.Fatal("different seeds, same data")
	}
	// The test split has its own stream: its size leaves the training set alone.
	cfg.Seed, cfg.TestPerClass = 42, 7
	d, _ := Synthetic(cfg)
	if !bytes.Equal(a.Train.Pixels, d.Train.Pixels) || d.Test.Len() != 70 {
		t.Fatal("changing TestPerClass changed the training set")
	}
	// Pinned bytes: a change here (of the generator or of math/rand/v2)
	// changes every result computed on synthetic data.
	const golden = "6a7c6e5ed5ffdfa8a74997e3ce651bf9a2ab1f6a69320786263c1fbd5e6982c4"
	if got := pairSum(a); got != golden {
		t.Errorf("Synthetic(seed 42) hashes to %s, want %s", got, golden)
	}
}

func TestSyntheticShape(t *testing.T) {
	p, err := Synthetic(SyntheticConfig{Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Validate(); err != nil {
		t.Fatal(err)
	}
	if p.Train.Len() != 2000 || p.Test.Len() != 500 || p.Train.Dim() != 64 || p.Train.Name != "synthetic/train" || p.Test.Name != "synthetic/test" {
		t.Fatalf("defaults: %d/%d samples of %v", p.Train.Len(), p.Test.Len(), p.Train.Shape)
	}
	for c, n := range p.Train.ClassCounts() {
		if n != 200 {
			t.Fatalf("class %d has %d training samples", c, n)
		}
	}
	sorted := true
	for i := 1; i < p.Train.Len(); i++ {
		sorted = sorted && p.Train.Labels[i] >= p.Train.Labels[i-1]
	}
	if sorted {
		t.Error("samples are sorted by class, want shuffled")
	}
}

// TestSyntheticSeparable checks that nearest-centroid classification,
// centroids from the training set, gets the test set almost all right, and
// that lowering Separation makes the task harder.
func TestSyntheticSeparable(t *testing.T) {
	acc := func(sep float64) float64 {
		p, err := Synthetic(SyntheticConfig{NumClasses: 10, Dim: 64, TrainPerClass: 200, TestPerClass: 50, Separation: sep, Seed: 7})
		if err != nil {
			t.Fatal(err)
		}
		return nearestCentroidAccuracy(p)
	}
	a0, a1 := acc(0), acc(1)
	t.Logf("nearest-centroid test accuracy: %.3f (Separation 8), %.3f (Separation 1)", a0, a1)
	if a := a0; a < 0.98 {
		t.Errorf("default separation: nearest-centroid accuracy %.3f, want ≥ 0.98", a)
	}
	if a := a1; a > 0.8 {
		t.Errorf("separation 1: accuracy %.3f, want a harder task", a)
	}
}

func nearestCentroidAccuracy(p Pair) float64 {
	dim, k := p.Train.Dim(), p.Train.NumClasses
	cent := make([]float64, k*dim)
	x := make([]float32, dim)
	for i := range p.Train.Len() {
		y := p.Train.Labels[i]
		p.Train.Gather(x, nil, []int32{int32(i)})
		for j, v := range x {
			cent[int(y)*dim+j] += float64(v)
		}
	}
	counts := p.Train.ClassCounts()
	for c := range k {
		for j := range dim {
			cent[c*dim+j] /= float64(counts[c])
		}
	}
	correct := 0
	for i := range p.Test.Len() {
		p.Test.Gather(x, nil, []int32{int32(i)})
		best, bestD := -1, math.Inf(1)
		for c := range k {
			d := 0.0
			for j, v := range x {
				e := float64(v) - cent[c*dim+j]
				d += e * e
			}
			if d < bestD {
				best, bestD = c, d
			}
		}
		if int32(best) == p.Test.Labels[i] {
			correct++
		}
	}
	return float64(correct) / float64(p.Test.Len())
}

// TestSyntheticLearnable trains softmax regression (the simplest network) by
// minibatch SGD and expects high test accuracy after a few dozen
// iterations, as the generator documents.
func TestSyntheticLearnable(t *testing.T) {
	p, err := Synthetic(SyntheticConfig{Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	const (
		iters = 40
		batch = 32
		lr    = 0.5
	)
	dim, k := p.Train.Dim(), p.Train.NumClasses
	w := make([]float32, k*(dim+1)) // row c: weights, bias
	x := make([]float32, batch*dim)
	ys := make([]int32, batch)
	idx := make([]int32, batch)
	grad := make([]float32, len(w))
	logits := make([]float32, k)
	forward := func(row []float32) {
		maxL := float32(math.Inf(-1))
		for c := range k {
			wc := w[c*(dim+1) : (c+1)*(dim+1)]
			s := wc[dim]
			for j, v := range row {
				s += wc[j] * (v - 0.5)
			}
			logits[c] = s
			maxL = max(maxL, s)
		}
		var z float32
		for c := range logits {
			logits[c] = float32(math.Exp(float64(logits[c] - maxL)))
			z += logits[c]
		}
		for c := range logits {
			logits[c] /= z
		}
	}
	rng := rand.New(rand.NewPCG(3, 0))
	for range iters {
		for i := range idx {
			idx[i] = int32(rng.IntN(p.Train.Len()))
		}
		p.Train.Gather(x, ys, idx)
		clear(grad)
		for i := range batch {
			row := x[i*dim : (i+1)*dim]
			forward(row)
			for c := range k {
				g := logits[c]
				if int32(c) == ys[i] {
					g--
				}
				gc := grad[c*(dim+1) : (c+1)*(dim+1)]
				for j, v := range row {
					gc[j] += g * (v - 0.5)
				}
				gc[dim] += g
			}
		}
		for i := range w {
			w[i] -= lr / batch * grad[i]
		}
	}
	correct := 0
	row := make([]float32, dim)
	for i := range p.Test.Len() {
		var y [1]int32
		p.Test.Gather(row, y[:], []int32{int32(i)})
		forward(row)
		best := 0
		for c := range logits {
			if logits[c] > logits[best] {
				best = c
			}
		}
		if int32(best) == y[0] {
			correct++
		}
	}
	if acc := float64(correct) / float64(p.Test.Len()); acc < 0.9 {
		t.Errorf("softmax regression after %d iterations: test accuracy %.3f, want ≥ 0.9", iters, acc)
	} else {
		t.Logf("softmax regression after %d iterations of %d: test accuracy %.3f", iters, batch, acc)
	}
}

func TestSyntheticConfigValidate(t *testing.T) {
	for _, tc := range []struct {
		cfg  SyntheticConfig
		want string
	}{
		{SyntheticConfig{NumClasses: -1}, "SyntheticConfig.NumClasses = -1"},
		{SyntheticConfig{Dim: -3}, "SyntheticConfig.Dim = -3"},
		{SyntheticConfig{TrainPerClass: -1}, "SyntheticConfig.TrainPerClass"},
		{SyntheticConfig{TestPerClass: -1}, "SyntheticConfig.TestPerClass"},
		{SyntheticConfig{Noise: 200}, "SyntheticConfig.Noise = 200"},
		{SyntheticConfig{Noise: math.NaN()}, "SyntheticConfig.Noise = NaN"},
		{SyntheticConfig{Separation: -1}, "SyntheticConfig.Separation = -1"},
		{SyntheticConfig{NumClasses: 1000, Dim: 1 << 20, TrainPerClass: 1 << 20}, "more than 16 GiB"},
	} {
		err := tc.cfg.Validate()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: %v, want %q", tc.cfg, err, tc.want)
		}
		if _, err := Synthetic(tc.cfg); err == nil {
			t.Errorf("Synthetic accepted %+v", tc.cfg)
		}
	}
}

func BenchmarkSynthetic(b *testing.B) {
	for b.Loop() {
		if _, err := Synthetic(SyntheticConfig{NumClasses: 10, Dim: 64, TrainPerClass: 200, TestPerClass: 50}); err != nil {
			b.Fatal(err)
		}
	}
}

// classMeans returns the mean sample of each class of d.
func classMeans(d *Dataset) [][]float64 {
	dim := d.Dim()
	means := make([][]float64, d.NumClasses)
	counts := d.ClassCounts()
	for c := range means {
		means[c] = make([]float64, dim)
	}
	for i, y := range d.Labels {
		for k := range dim {
			means[y][k] += float64(d.Pixels[i*dim+k]) / float64(counts[y])
		}
	}
	return means
}

func dist(a, b []float64) float64 {
	s := 0.0
	for i := range a {
		s += (a[i] - b[i]) * (a[i] - b[i])
	}
	return math.Sqrt(s)
}

func TestSyntheticDomainsDistance(t *testing.T) {
	cfg := SyntheticConfig{NumClasses: 4, Dim: 128, TrainPerClass: 2000, TestPerClass: 10, Noise: 8, Separation: 4, Seed: 3}
	base, err := Synthetic(cfg)
	if err != nil {
		t.Fatal(err)
	}
	// shift returns the mean distance between a class's means in domains 1
	// and 2 relative to the mean distance between two classes of domain 1.
	shift := func(d float64) float64 {
		ps, err := SyntheticDomains(cfg, 3, d)
		if err != nil {
			t.Fatal(err)
		}
		if len(ps) != 3 || ps[2].Train.Name != "synthetic/d3/train" {
			t.Fatalf("%d domains, third named %q", len(ps), ps[2].Train.Name)
		}
		m1, m2 := classMeans(ps[0].Train), classMeans(ps[1].Train)
		within, between := 0.0, 0.0
		for c := range m1 {
			within += dist(m1[c], m2[c]) / 4
			between += dist(m1[c], m1[(c+1)%4]) / 4
		}
		return within / between
	}
	ps, _ := SyntheticDomains(cfg, 2, 0.5)
	if !slices.Equal(ps[0].Train.Pixels, base.Train.Pixels) || !slices.Equal(ps[0].Test.Labels, base.Test.Labels) {
		t.Error("domain 1 differs from Synthetic with the same configuration")
	}
	s0, s5, s1 := shift(0), shift(0.5), shift(1)
	t.Logf("relative class shift between domains: distance 0: %.3f, 0.5: %.3f, 1: %.3f", s0, s5, s1)
	// Sample noise adds about √(2·Dim/n)·Noise to the measured distances.
	if s0 > 0.15 || math.Abs(s5-0.5) > 0.12 || math.Abs(s1-1) > 0.15 {
		t.Errorf("relative shifts %.3f, %.3f, %.3f, want about 0, 0.5, 1", s0, s5, s1)
	}
	for _, bad := range []float64{-0.1, 1.1, math.NaN()} {
		if _, err := SyntheticDomains(cfg, 2, bad); err == nil {
			t.Errorf("distance %v accepted", bad)
		}
	}
}
