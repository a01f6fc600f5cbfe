package streams

import (
	"slices"
	"testing"
)

// cropFlipRef is the augmentation written as PyTorch's augment() does it:
// pad the image with p zeros on each side, take the h×w window at
// (dy, dx), mirror it left to right when flip is set.
func cropFlipRef(src []float32, s Shape, p, dy, dx int, flip bool) []float32 {
	ph, pw := s.H+2*p, s.W+2*p
	padded := make([]float32, s.C*ph*pw)
	for c := range s.C {
		for y := range s.H {
			for x := range s.W {
				padded[c*ph*pw+(y+p)*pw+x+p] = src[c*s.H*s.W+y*s.W+x]
			}
		}
	}
	out := make([]float32, s.Dim())
	for c := range s.C {
		for y := range s.H {
			for x := range s.W {
				xx := x
				if flip {
					xx = s.W - 1 - x
				}
				out[c*s.H*s.W+y*s.W+x] = padded[c*ph*pw+(dy+y)*pw+dx+xx]
			}
		}
	}
	return out
}

// ramp returns n samples whose values are all distinct and non-zero.
func ramp(n int, s Shape) []float32 {
	x := make([]float32, n*s.Dim())
	for i := range x {
		x[i] = float32(i + 1)
	}
	return x
}

// TestCropFlipSample compares every offset and flip with the reference, on
// CIFAR, MNIST, odd and tiny shapes, and with no padding.
func TestCropFlipSample(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		s Shape
		p int
	}{
		{Shape{3, 32, 32}, 4}, {Shape{1, 28, 28}, 4}, {Shape{2, 5, 3}, 4}, {Shape{1, 1, 1}, 4}, {Shape{3, 4, 6}, 2}, {Shape{2, 3, 3}, 0},
	} {
		a := CropFlip{Shape: c.s, Pad: c.p}
		src := ramp(1, c.s)
		keep := slices.Clone(src)
		dst := make([]float32, c.s.Dim())
		for dy := range 2*c.p + 1 {
			for dx := range 2*c.p + 1 {
				for _, flip := range []bool{false, true} {
					for i := range dst {
						dst[i] = -1 // every value must be written
					}
					a.Sample(dst, src, dy, dx, flip)
					if want := cropFlipRef(src, c.s, c.p, dy, dx, flip); !slices.Equal(dst, want) {
						t.Fatalf("%v pad %d dy %d dx %d flip %v:\n got %v\nwant %v", c.s, c.p, dy, dx, flip, dst, want)
					}
				}
			}
		}
		if !slices.Equal(src, keep) {
			t.Fatalf("%v: Sample changed its source", c.s)
		}
	}
}

// TestCropFlipExtremes spells out the centre and the extreme offsets on a
// 1×3×3 image padded by 1.
func TestCropFlipExtremes(t *testing.T) {
	a := CropFlip{Shape: Shape{1, 3, 3}, Pad: 1}
	src := []float32{
		1, 2, 3,
		4, 5, 6,
		7, 8, 9,
	}
	dst := make([]float32, 9)
	for _, c := range []struct {
		dy, dx int
		flip   bool
		want   []float32
	}{
		{1, 1, false, src}, // centre: the image itself
		{1, 1, true, []float32{3, 2, 1, 6, 5, 4, 9, 8, 7}},
		{0, 0, false, []float32{0, 0, 0, 0, 1, 2, 0, 4, 5}}, // top left of the padded image
		{2, 2, false, []float32{5, 6, 0, 8, 9, 0, 0, 0, 0}}, // bottom right
		{0, 2, false, []float32{0, 0, 0, 2, 3, 0, 5, 6, 0}},
		{2, 0, false, []float32{0, 4, 5, 0, 7, 8, 0, 0, 0}},
		{0, 0, true, []float32{0, 0, 0, 2, 1, 0, 5, 4, 0}}, // the window, then mirrored
		{2, 2, true, []float32{0, 6, 5, 0, 9, 8, 0, 0, 0}},
	} {
		a.Sample(dst, src, c.dy, c.dx, c.flip)
		if !slices.Equal(dst, c.want) {
			t.Errorf("dy %d dx %d flip %v: %v, want %v", c.dy, c.dx, c.flip, dst, c.want)
		}
	}
}

// decode finds the offsets and flip that produced out from src.
func decode(t *testing.T, a CropFlip, out, src []float32) (dy, dx int, flip bool) {
	t.Helper()
	found := 0
	for y := range 2*a.Pad + 1 {
		for x := range 2*a.Pad + 1 {
			for _, f := range []bool{false, true} {
				if slices.Equal(out, cropFlipRef(src, a.Shape, a.Pad, y, x, f)) {
					dy, dx, flip = y, x, f
					found++
				}
			}
		}
	}
	if found != 1 {
		t.Fatalf("output matches %d crops", found)
	}
	return dy, dx, flip
}

// TestCropFlipDraws reads the offsets and flips back from the outputs:
// every sample is one of the 9·9·2 crops, each about equally often, drawn
// in the documented order from the given generator.
func TestCropFlipDraws(t *testing.T) {
	t.Parallel()
	s := Shape{2, 6, 7} // every window holds pixels of the image, no two alike
	a := CropFlip{Shape: s, Pad: 4}
	const n = 3240
	src := ramp(n, s)
	dst := make([]float32, len(src))
	a.Augment(dst, src, n, NewRand(7, RandAugment))
	replay := NewRand(7, RandAugment)
	counts := map[[3]int]int{}
	flips := 0
	d := s.Dim()
	for i := range n {
		dy, dx, flip := decode(t, a, dst[i*d:(i+1)*d], src[i*d:(i+1)*d])
		if wy, wx, wf := replay.IntN(9), replay.IntN(9), replay.IntN(2) == 1; dy != wy || dx != wx || flip != wf {
			t.Fatalf("sample %d: (%d, %d, %v), want the draws (%d, %d, %v)", i, dy, dx, flip, wy, wx, wf)
		}
		counts[[3]int{dy, dx, map[bool]int{true: 1}[flip]}]++
		if flip {
			flips++
		}
	}
	if len(counts) != 162 {
		t.Fatalf("%d distinct crops, want all 162", len(counts))
	}
	for k, c := range counts {
		if c < 2 || c > 50 { // expected 20 each
			t.Errorf("crop %v drawn %d times in %d", k, c, n)
		}
	}
	if flips < n/2-150 || flips > n/2+150 {
		t.Errorf("%d flips in %d", flips, n)
	}
}

// TestCropFlipDeterministic: the same generator state gives the same
// batch; the batch may be augmented in pieces; the source is untouched.
func TestCropFlipDeterministic(t *testing.T) {
	t.Parallel()
	s := Shape{3, 32, 32}
	aug, err := NewAugmenter(AugCropFlip, s)
	if err != nil {
		t.Fatal(err)
	}
	const n = 16
	src := ramp(n, s)
	keep := slices.Clone(src)
	a, b, c := make([]float32, len(src)), make([]float32, len(src)), make([]float32, len(src))
	aug.Augment(a, src, n, NewRand(1, RandAugment))
	aug.Augment(b, src, n, NewRand(1, RandAugment))
	rng := NewRand(1, RandAugment)
	aug.Augment(c[:5*s.Dim()], src[:5*s.Dim()], 5, rng)
	aug.Augment(c[5*s.Dim():], src[5*s.Dim():], n-5, rng)
	if !slices.Equal(a, b) || !slices.Equal(a, c) {
		t.Error("same seed, different augmentation")
	}
	aug.Augment(b, src, n, NewRand(2, RandAugment))
	if slices.Equal(a, b) {
		t.Error("seeds 1 and 2 gave the same augmentation")
	}
	if !slices.Equal(src, keep) {
		t.Error("Augment changed its source")
	}
	defer func() {
		if recover() == nil {
			t.Error("in-place augmentation did not panic")
		}
	}()
	aug.Augment(src, src, n, rng)
}

func TestCropFlipAllocs(t *testing.T) {
	s := Shape{3, 32, 32}
	var aug Augmenter = CropFlip{Shape: s, Pad: 4}
	src := ramp(32, s)
	dst := make([]float32, len(src))
	rng := NewRand(0, RandAugment)
	if n := testing.AllocsPerRun(20, func() { aug.Augment(dst, src, 32, rng) }); n != 0 {
		t.Errorf("%v allocations per call", n)
	}
}

func TestNewAugmenter(t *testing.T) {
	if _, err := NewAugmenter("cutout", Shape{3, 32, 32}); err == nil {
		t.Error("unknown augmentation accepted")
	}
	if _, err := NewAugmenter(AugCropFlip, Shape{}); err == nil {
		t.Error("empty shape accepted")
	}
}

func BenchmarkCropFlip(b *testing.B) {
	s := Shape{3, 32, 32}
	a := CropFlip{Shape: s, Pad: 4}
	src := ramp(32, s)
	dst := make([]float32, len(src))
	rng := NewRand(0, RandAugment)
	b.SetBytes(int64(4 * len(src)))
	b.ReportAllocs()
	for b.Loop() {
		a.Augment(dst, src, 32, rng)
	}
}
