package streams

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

func mustPCR(t testing.TB, s Shape) PCRAugment {
	t.Helper()
	a, err := NewPCRAugment(s)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// TestPCRParams: the drawn crops fit and follow the scale and ratio
// bounds; the flip, jitter and grey conversion come with their
// probabilities; the jitter's factors are in range and its order is every
// permutation.
func TestPCRParams(t *testing.T) {
	t.Parallel()
	a := mustPCR(t, Shape{3, 32, 32})
	rng := NewRand(11, RandAugment)
	const n = 4000
	flips, jitters, grays := 0, 0, 0
	orders := map[[4]int]bool{}
	for range n {
		p := a.SampleParams(rng)
		if p.H < 1 || p.W < 1 || p.Top < 0 || p.Left < 0 || p.Top+p.H > 32 || p.Left+p.W > 32 {
			t.Fatalf("crop %+v outside the image", p)
		}
		frac, ratio := float64(p.H*p.W)/1024, float64(p.W)/float64(p.H)
		if frac < 0.2*0.85 || frac > 1 || ratio < 0.75/1.1 || ratio > 4.0/3*1.1 {
			t.Fatalf("crop %d×%d: area fraction %.3f, ratio %.3f", p.H, p.W, frac, ratio)
		}
		if p.Flip {
			flips++
		}
		if p.Gray {
			grays++
		}
		if !p.Jitter {
			if p.B != 0 || p.C != 0 || p.S != 0 || p.Hu != 0 {
				t.Fatalf("jitter factors drawn without jitter: %+v", p)
			}
			continue
		}
		jitters++
		orders[p.Order] = true
		for _, f := range []float32{p.B, p.C, p.S} {
			if f < 0.6 || f > 1.4 {
				t.Fatalf("jitter factor %v outside [0.6, 1.4]", f)
			}
		}
		if p.Hu < -0.1 || p.Hu > 0.1 {
			t.Fatalf("hue shift %v", p.Hu)
		}
	}
	for name, c := range map[string]struct {
		got  int
		want float64
	}{"flip": {flips, 0.5}, "jitter": {jitters, 0.8}, "gray": {grays, 0.2}} {
		if f := float64(c.got) / n; math.Abs(f-c.want) > 0.03 {
			t.Errorf("%s in %.3f of the samples, want %.1f", name, f, c.want)
		}
	}
	if len(orders) != 24 {
		t.Errorf("%d jitter orders, want all 24", len(orders))
	}
}

// TestPCRDrawOrder replays the documented order of the draws.
func TestPCRDrawOrder(t *testing.T) {
	a := mustPCR(t, Shape{3, 32, 32})
	rng, replay := NewRand(4, RandAugment), NewRand(4, RandAugment)
	for range 200 {
		got := a.SampleParams(rng)
		var want PCRParams
		for range 10 {
			target := 1024 * (0.2 + 0.8*replay.Float64())
			aspect := math.Exp(math.Log(0.75) + (math.Log(4.0/3)-math.Log(0.75))*replay.Float64())
			w, h := int(math.RoundToEven(math.Sqrt(target*aspect))), int(math.RoundToEven(math.Sqrt(target/aspect)))
			if w <= 32 && h <= 32 {
				want.H, want.W = h, w
				want.Top = replay.IntN(32 - h + 1)
				want.Left = replay.IntN(32 - w + 1)
				break
			}
		}
		want.Flip = replay.Float64() < 0.5
		if want.Jitter = replay.Float64() < 0.8; want.Jitter {
			want.Order = [4]int{0, 1, 2, 3}
			for i := 3; i > 0; i-- {
				j := replay.IntN(i + 1)
				want.Order[i], want.Order[j] = want.Order[j], want.Order[i]
			}
			want.B = float32(0.6 + 0.8*replay.Float64())
			want.C = float32(0.6 + 0.8*replay.Float64())
			want.S = float32(0.6 + 0.8*replay.Float64())
			want.Hu = float32(-0.1 + 0.2*replay.Float64())
		}
		want.Gray = replay.Float64() < 0.2
		if got != want {
			t.Fatalf("params %+v, want %+v", got, want)
		}
	}
}

// TestPCRFallbackCrop: when no attempt fits (an image far from square),
// the central crop of the largest size within the ratio bounds.
func TestPCRFallbackCrop(t *testing.T) {
	for _, c := range []struct {
		s    Shape
		want PCRParams
	}{
		{Shape{1, 2, 40}, PCRParams{Top: 0, Left: 18, H: 2, W: 3}},
		{Shape{1, 40, 2}, PCRParams{Top: 18, Left: 0, H: 3, W: 2}},
	} {
		a := mustPCR(t, c.s)
		a.JitterP, a.GrayP = 0, 0
		rng := NewRand(1, RandAugment)
		for range 20 {
			p := a.SampleParams(rng)
			p.Flip = false
			if p != c.want {
				t.Fatalf("%v: crop %+v, want %+v", c.s, p, c.want)
			}
		}
	}
}

// resizeRef is PyTorch's bilinear resize (align_corners=False) of the crop
// to the image size, then the flip, in float64.
func resizeRef(src []float32, s Shape, p PCRParams) []float64 {
	coord := func(i, in, out int) (int, int, float64) {
		x := math.Max((float64(i)+0.5)*float64(in)/float64(out)-0.5, 0)
		i0 := min(int(math.Floor(x)), in-1)
		return i0, min(i0+1, in-1), x - float64(i0)
	}
	out := make([]float64, s.Dim())
	for c := range s.C {
		at := func(y, x int) float64 { return float64(src[c*s.H*s.W+(p.Top+y)*s.W+p.Left+x]) }
		for y := range s.H {
			y0, y1, ly := coord(y, p.H, s.H)
			for x := range s.W {
				xs := x
				if p.Flip {
					xs = s.W - 1 - x
				}
				x0, x1, lx := coord(xs, p.W, s.W)
				out[c*s.H*s.W+y*s.W+x] = (1-ly)*((1-lx)*at(y0, x0)+lx*at(y0, x1)) + ly*((1-lx)*at(y1, x0)+lx*at(y1, x1))
			}
		}
	}
	return out
}

func closeTo(t *testing.T, what string, got []float32, want []float64, tol float64) {
	t.Helper()
	for i := range want {
		if math.Abs(float64(got[i])-want[i]) > tol {
			t.Fatalf("%s: value %d = %v, want %v", what, i, got[i], want[i])
		}
	}
}

func randomUnit(rng *rand.Rand, n int) []float32 {
	x := make([]float32, n)
	for i := range x {
		x[i] = rng.Float32()
	}
	return x
}

func TestPCRResizedCrop(t *testing.T) {
	t.Parallel()
	// By hand: a 2×2 crop enlarged to 4×4.
	a := mustPCR(t, Shape{1, 4, 4})
	src := []float32{
		1, 2, 0, 0,
		3, 5, 0, 0,
		0, 0, 0, 0,
		0, 0, 0, 0,
	}
	dst := make([]float32, 16)
	a.Apply(dst, src, PCRParams{H: 2, W: 2})
	// Source coordinates of the outputs: 0 (clamped), 0.25, 0.75, 1.
	want := []float32{
		1, 1.25, 1.75, 2,
		1.5, 1.8125, 2.4375, 2.75,
		2.5, 2.9375, 3.8125, 4.25,
		3, 3.5, 4.5, 5,
	}
	if !slices.Equal(dst, want) {
		t.Errorf("2×2 → 4×4:\n got %v\nwant %v", dst, want)
	}
	// The whole image, unflipped, is the image itself.
	s := Shape{3, 7, 9}
	a = mustPCR(t, s)
	rng := rand.New(rand.NewPCG(1, 1))
	img := randomUnit(rng, s.Dim())
	out := make([]float32, s.Dim())
	a.Apply(out, img, PCRParams{H: 7, W: 9})
	if !slices.Equal(out, img) {
		t.Error("the full crop changed the image")
	}
	// Random crops and flips against the reference.
	for range 200 {
		p := PCRParams{H: 1 + rng.IntN(7), W: 1 + rng.IntN(9), Flip: rng.IntN(2) == 1}
		p.Top, p.Left = rng.IntN(7-p.H+1), rng.IntN(9-p.W+1)
		a.Apply(out, img, p)
		closeTo(t, "resized crop", out, resizeRef(img, s, p), 1e-6)
	}
}

// Colour references in float64, from torchvision's tensor definitions.
func grayRef(r, g, b float64) float64 { return 0.2989*r + 0.587*g + 0.114*b }
func clampRef(v float64) float64      { return math.Min(math.Max(v, 0), 1) }

func hueRef(r, g, b, shift float64) (float64, float64, float64) {
	maxc, minc := math.Max(r, math.Max(g, b)), math.Min(r, math.Min(g, b))
	if maxc == minc {
		return r, g, b
	}
	s := (maxc - minc) / maxc
	var h float64
	switch {
	case maxc == r:
		h = (g - b) / (maxc - minc)
	case maxc == g:
		h = 2 + (b-r)/(maxc-minc)
	default:
		h = 4 + (r-g)/(maxc-minc)
	}
	h = math.Mod(h/6+1+shift+1, 1)
	i := math.Floor(h * 6)
	f := h*6 - i
	p, q, t := maxc*(1-s), maxc*(1-s*f), maxc*(1-s*(1-f))
	v := maxc
	switch int(i) % 6 {
	case 0:
		return v, t, p
	case 1:
		return q, v, p
	case 2:
		return p, v, t
	case 3:
		return p, q, v
	case 4:
		return t, p, v
	}
	return v, p, q
}

// jitterRef applies the jitter of p and the grey conversion to a sample in
// float64.
func jitterRef(x []float64, s Shape, p PCRParams) {
	hw := s.H * s.W
	pix := func(i int) (float64, float64, float64) { return x[i], x[hw+i], x[2*hw+i] }
	if p.Jitter {
		for _, op := range p.Order {
			switch op {
			case jitterBrightness:
				for i := range x {
					x[i] = clampRef(float64(p.B) * x[i])
				}
			case jitterContrast:
				m := 0.0
				for i := range hw {
					if s.C == 3 {
						m += grayRef(pix(i))
					} else {
						m += x[i]
					}
				}
				m /= float64(hw)
				for i := range x {
					x[i] = clampRef(float64(p.C)*x[i] + (1-float64(p.C))*m)
				}
			case jitterSaturation:
				if s.C == 3 {
					for i := range hw {
						l := grayRef(pix(i))
						for c := range 3 {
							x[c*hw+i] = clampRef(float64(p.S)*x[c*hw+i] + (1-float64(p.S))*l)
						}
					}
				}
			case jitterHue:
				if s.C == 3 {
					for i := range hw {
						x[i], x[hw+i], x[2*hw+i] = hueRef(x[i], x[hw+i], x[2*hw+i], float64(p.Hu))
					}
				}
			}
		}
	}
	if p.Gray && s.C == 3 {
		for i := range hw {
			l := grayRef(pix(i))
			x[i], x[hw+i], x[2*hw+i] = l, l, l
		}
	}
}

func TestPCRHue(t *testing.T) {
	for _, c := range []struct {
		rgb, want [3]float32
		shift     float32
	}{
		{[3]float32{1, 0, 0}, [3]float32{0, 1, 0}, 1.0 / 3},
		{[3]float32{1, 0, 0}, [3]float32{1, 0, 1}, -1.0 / 6},
		{[3]float32{0, 0, 1}, [3]float32{1, 0, 0}, 1.0 / 3},
		{[3]float32{0.5, 0.5, 0.5}, [3]float32{0.5, 0.5, 0.5}, 0.1},
		{[3]float32{0.2, 0.4, 0.8}, [3]float32{0.2, 0.4, 0.8}, 0},
	} {
		x := c.rgb[:]
		x = slices.Clone(x)
		shiftHue(x, 1, c.shift)
		for k := range 3 {
			if math.Abs(float64(x[k]-c.want[k])) > 1e-6 {
				t.Errorf("hue %v + %v = %v, want %v", c.rgb, c.shift, x, c.want)
				break
			}
		}
	}
}

// TestPCRColour: every colour operation, in every order, against the
// float64 references, on 3 channels and on 1 (where saturation, hue and
// grey are the identity).
func TestPCRColour(t *testing.T) {
	t.Parallel()
	for _, s := range []Shape{{3, 5, 6}, {1, 5, 6}} {
		a := mustPCR(t, s)
		rng := rand.New(rand.NewPCG(2, 2))
		img := randomUnit(rng, s.Dim())
		out := make([]float32, s.Dim())
		for trial := range 300 {
			p := PCRParams{H: s.H, W: s.W, Jitter: trial%4 != 0, Gray: trial%3 == 0}
			if p.Jitter {
				p.Order = [4]int{0, 1, 2, 3}
				for i := 3; i > 0; i-- {
					j := rng.IntN(i + 1)
					p.Order[i], p.Order[j] = p.Order[j], p.Order[i]
				}
				p.B, p.C, p.S = 0.6+0.8*rng.Float32(), 0.6+0.8*rng.Float32(), 0.6+0.8*rng.Float32()
				p.Hu = -0.1 + 0.2*rng.Float32()
			}
			a.Apply(out, img, p)
			want := make([]float64, s.Dim())
			for i, v := range img {
				want[i] = float64(v)
			}
			jitterRef(want, s, p)
			closeTo(t, "colour", out, want, 2e-5)
		}
		if s.C == 1 {
			// Saturation, hue and grey alone leave one channel alone.
			a.Apply(out, img, PCRParams{H: s.H, W: s.W, Jitter: true, Order: [4]int{2, 3, 0, 1}, B: 1, C: 1, S: 0.2, Hu: 0.1, Gray: true})
			if !slices.Equal(out, img) {
				t.Error("saturation, hue or grey changed a one-channel image")
			}
		}
	}
}

// TestPCRAugment: deterministic, in pieces, source untouched, never in
// place, no allocation; only 1- and 3-channel images.
func TestPCRAugment(t *testing.T) {
	s := Shape{3, 32, 32}
	aug, err := NewAugmenter(AugPCR, s)
	if err != nil {
		t.Fatal(err)
	}
	const n = 8
	src := randomUnit(rand.New(rand.NewPCG(3, 3)), n*s.Dim())
	keep := slices.Clone(src)
	a, b, c := make([]float32, len(src)), make([]float32, len(src)), make([]float32, len(src))
	aug.Augment(a, src, n, NewRand(1, RandAugment))
	aug.Augment(b, src, n, NewRand(1, RandAugment))
	rng := NewRand(1, RandAugment)
	aug.Augment(c[:3*s.Dim()], src[:3*s.Dim()], 3, rng)
	aug.Augment(c[3*s.Dim():], src[3*s.Dim():], n-3, rng)
	if !slices.Equal(a, b) || !slices.Equal(a, c) {
		t.Error("same seed, different augmentation")
	}
	// Each sample is Apply of the params drawn in turn.
	replay := NewRand(1, RandAugment)
	one := make([]float32, s.Dim())
	pa := aug.(PCRAugment)
	for i := range n {
		pa.Apply(one, src[i*s.Dim():(i+1)*s.Dim()], pa.SampleParams(replay))
		if !slices.Equal(one, a[i*s.Dim():(i+1)*s.Dim()]) {
			t.Fatalf("sample %d differs from Apply(SampleParams)", i)
		}
	}
	if !slices.Equal(src, keep) {
		t.Error("Augment changed its source")
	}
	for _, v := range a {
		if !(v >= 0 && v <= 1) {
			t.Fatalf("augmented value %v outside [0, 1]", v)
		}
	}
	if allocs := testing.AllocsPerRun(10, func() { aug.Augment(a, src, n, rng) }); allocs != 0 {
		t.Errorf("%v allocations per call", allocs)
	}
	for _, bad := range []Shape{{2, 8, 8}, {4, 8, 8}, {3, 0, 8}} {
		if _, err := NewAugmenter(AugPCR, bad); err == nil {
			t.Errorf("shape %v accepted", bad)
		}
	}
	func() {
		defer func() {
			if recover() == nil {
				t.Error("in-place augmentation did not panic")
			}
		}()
		aug.Augment(src, src, n, rng)
	}()
}

func BenchmarkPCRAugment(b *testing.B) {
	s := Shape{3, 32, 32}
	a := mustPCR(b, s)
	src := randomUnit(rand.New(rand.NewPCG(3, 3)), 32*s.Dim())
	dst := make([]float32, len(src))
	rng := NewRand(0, RandAugment)
	b.SetBytes(int64(4 * len(src)))
	b.ReportAllocs()
	for b.Loop() {
		a.Augment(dst, src, 32, rng)
	}
}
