package datasets

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// TestRandomImagePermutationMap: one permutation of the pixel positions,
// the same in every channel, drawn as RandomPermutationMap draws it.
func TestRandomImagePermutationMap(t *testing.T) {
	const hw = 16
	one := RandomPermutationMap("p", hw, rand.New(rand.NewPCG(3, 4)))
	if m := RandomImagePermutationMap("p", 1, hw, rand.New(rand.NewPCG(3, 4))); !slices.Equal(m.Src, one.Src) || m.Dim != hw {
		t.Fatalf("c = 1: %v, want %v", m.Src, one.Src)
	}
	rng := rand.New(rand.NewPCG(3, 4))
	m := RandomImagePermutationMap("p", 3, hw, rng)
	if m.Dim != 3*hw || m.Taps != 1 || m.W != nil {
		t.Fatalf("map %+v", m)
	}
	for ch := range 3 {
		for k := range hw {
			if m.Src[ch*hw+k] != int32(ch*hw)+one.Src[k] {
				t.Fatalf("channel %d position %d: source %d, want %d", ch, k, m.Src[ch*hw+k], int32(ch*hw)+one.Src[k])
			}
		}
	}
	// Applied to an image: the values of a pixel move together.
	img := randomImage(rand.New(rand.NewPCG(5, 6)), 3*hw)
	out := make([]uint8, 3*hw)
	m.Apply(out, img)
	for k := range hw {
		src := one.Src[k]
		for ch := range 3 {
			if out[ch*hw+k] != img[ch*hw+int(src)] {
				t.Fatalf("pixel %d channel %d", k, ch)
			}
		}
	}
	// The same draws as a permutation of hw values: the generator is left
	// in the same state.
	other := rand.New(rand.NewPCG(3, 4))
	RandomPermutationMap("p", hw, other)
	if rng.Uint64() != other.Uint64() {
		t.Error("RandomImagePermutationMap drew more or fewer values than RandomPermutationMap")
	}
}

// TestRotationMapCHW: each channel rotated as a single-channel image.
func TestRotationMapCHW(t *testing.T) {
	const c, h, w = 3, 5, 7
	one := RotationMap(h, w, 33)
	if m := RotationMapCHW(1, h, w, 33); !slices.Equal(m.Src, one.Src) || !slices.Equal(m.W, one.W) {
		t.Fatal("c = 1 differs from RotationMap")
	}
	m := RotationMapCHW(c, h, w, 33)
	if m.Dim != c*h*w || m.Taps != 4 || len(m.W) != len(m.Src) {
		t.Fatalf("map Dim %d Taps %d", m.Dim, m.Taps)
	}
	img := randomImage(rand.New(rand.NewPCG(7, 8)), c*h*w)
	out := make([]uint8, c*h*w)
	m.Apply(out, img)
	want := make([]uint8, h*w)
	for ch := range c {
		one.Apply(want, img[ch*h*w:(ch+1)*h*w])
		if !slices.Equal(out[ch*h*w:(ch+1)*h*w], want) {
			t.Fatalf("channel %d differs from the single-channel rotation", ch)
		}
	}
	// Float features take the same path.
	d := &Dataset{Name: "f", Shape: []int{c, h, w}, Features: make([]float32, c*h*w), Labels: []int32{0}, NumClasses: 1}
	for i, p := range img {
		d.Features[i] = float32(p)
	}
	x := make([]float32, c*h*w)
	d.GatherMapped(x, nil, []int32{0}, m)
	for i := range x {
		if diff := x[i] - float32(out[i]); diff > 0.5 || diff < -0.5 {
			t.Fatalf("feature %d: %v, pixel path %d", i, x[i], out[i])
		}
	}
}
