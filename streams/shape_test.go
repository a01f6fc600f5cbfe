package streams

import (
	"slices"
	"strings"
	"testing"

	"github.com/cleval/cleval/datasets"
)

// colourImages returns images of c classes with perClass random samples
// of the given shape per class in each split.
func colourImages(c, perClass int, shape []int) datasets.Pair {
	rng := NewRand(5, 99)
	mk := func(name string) *datasets.Dataset {
		d := &datasets.Dataset{Name: name, Shape: slices.Clone(shape), NumClasses: c}
		for i := range c * perClass {
			d.Labels = append(d.Labels, int32(i%c))
			for range d.Dim() {
				d.Pixels = append(d.Pixels, uint8(rng.IntN(256)))
			}
		}
		return d
	}
	return datasets.Pair{Train: mk("rgb/train"), Test: mk("rgb/test")}
}

// TestGeneratorsKeepShape: every generator gives its stream the dataset's
// sample shape.
func TestGeneratorsKeepShape(t *testing.T) {
	rgb := colourImages(4, 3, []int{3, 4, 5})
	want := Shape{3, 4, 5}
	split, err := SplitClasses(rgb, SplitConfig{NumExperiences: 2})
	if err != nil {
		t.Fatal(err)
	}
	perm, err := Permuted(rgb, PermutedConfig{NumExperiences: 2, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	rot, err := Rotated(rgb, "rot", []float64{0, 30}, "")
	if err != nil {
		t.Fatal(err)
	}
	cat, err := Concat("cat", ClassIncremental, split, split)
	if err != nil {
		t.Fatal(err)
	}
	rgb.Train.Tasks, rgb.Train.TaskNames = make([]int32, rgb.Train.Len()), []string{"a"}
	rgb.Test.Tasks, rgb.Test.TaskNames = make([]int32, rgb.Test.Len()), []string{"a"}
	byTask, err := ByTask(rgb, ByTaskConfig{})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []*Stream{split, perm, rot, cat, byTask} {
		if s.InputShape != want || s.Shape() != want || s.InputDim != 60 {
			t.Errorf("%s: shape %v (Shape() %v), InputDim %d; want %v, 60", s.Name, s.InputShape, s.Shape(), s.InputDim, want)
		}
		if err := s.Validate(); err != nil {
			t.Error(err)
		}
	}
	// MNIST-like 2-D shapes are one channel; flat features are 1×1×N.
	if s, _ := SplitClasses(images(4, 2, 1), SplitConfig{NumExperiences: 2}); s.InputShape != (Shape{1, 4, 4}) {
		t.Errorf("[4 4] images: %v", s.InputShape)
	}
	if s, _ := SplitClasses(toy(4, 2), SplitConfig{NumExperiences: 2}); s.InputShape != Flat(s.InputDim) {
		t.Errorf("flat data: %v", s.InputShape)
	}
	// A stream built by hand has the flat shape.
	if s := (&Stream{InputDim: 7}); s.Shape() != (Shape{1, 1, 7}) {
		t.Errorf("hand-made stream: %v", s.Shape())
	}
	bad := &Stream{Name: "bad", InputDim: 7, InputShape: Shape{1, 2, 3}, Experiences: split.Experiences}
	if err := bad.Validate(); err == nil || !strings.Contains(err.Error(), "input shape 1×2×3 holds 6 values, but InputDim is 7") {
		t.Errorf("inconsistent shape: %v", err)
	}
	// Parts of one size but different shapes do not concatenate.
	other, err := SplitClasses(colourImages(4, 3, []int{3, 5, 4}), SplitConfig{NumExperiences: 2})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Concat("mix", ClassIncremental, split, other); err == nil || !strings.Contains(err.Error(), "shape 3×5×4, part 1 of 3×4×5") {
		t.Errorf("Concat of two shapes: %v", err)
	}
}

// TestPermutedColour: the permutation of a colour image moves pixel
// positions, the same in every channel; on one channel it is the
// permutation of every value, drawn as before.
func TestPermutedColour(t *testing.T) {
	rgb := colourImages(2, 2, []int{3, 4, 5})
	s, err := Permuted(rgb, PermutedConfig{NumExperiences: 2, Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	m := s.Experiences[0].Train.Map
	for ch := 1; ch < 3; ch++ {
		for k := range 20 {
			if m.Src[ch*20+k] != int32(ch*20)+m.Src[k] {
				t.Fatalf("channel %d position %d: source %d, channel 0's is %d", ch, k, m.Src[ch*20+k], m.Src[k])
			}
		}
	}
	x, _ := gather(s.Experiences[0], s.Experiences[0].Train)
	raw := make([]float32, len(x))
	rgb.Train.Gather(raw, nil, []int32{0, 1, 2, 3})
	for i := range 4 {
		for ch := range 3 {
			for k := range 20 {
				if x[i*60+ch*20+k] != raw[i*60+ch*20+int(m.Src[k])] {
					t.Fatalf("sample %d channel %d position %d", i, ch, k)
				}
			}
		}
	}
	// One channel: the same permutations as datasets.RandomPermutationMap
	// of every value, so permuted MNIST streams are unchanged.
	gray := images(2, 2, 1)
	s, err = Permuted(gray, PermutedConfig{NumExperiences: 3, Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	rng := NewRand(3, RandPermutation)
	for k, e := range s.Experiences {
		want := datasets.RandomPermutationMap("", 16, rng)
		if !slices.Equal(e.Train.Map.Src, want.Src) {
			t.Errorf("experience %d: %v, want %v", k+1, e.Train.Map.Src, want.Src)
		}
	}
}

func TestRotatedNeedsImages(t *testing.T) {
	if _, err := Rotated(toy(2, 2), "rot", []float64{0, 90}, ""); err == nil || !strings.Contains(err.Error(), "cannot be rotated") {
		t.Errorf("flat features rotated: %v", err)
	}
	rgb := colourImages(2, 2, []int{3, 4, 4})
	s, err := Rotated(rgb, "rot", []float64{90}, "")
	if err != nil {
		t.Fatal(err)
	}
	// Each channel rotated alike: 90° on a square image permutes pixels.
	m := s.Experiences[0].Train.Map
	one := datasets.RotationMap(4, 4, 90)
	for ch := range 3 {
		for k := range 16 {
			if m.Src[4*(ch*16+k)] != int32(ch*16)+one.Src[4*k] {
				t.Fatalf("channel %d pixel %d", ch, k)
			}
		}
	}
}
