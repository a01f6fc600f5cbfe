package streams

import (
	"slices"
	"testing"

	"github.com/cleval/cleval/datasets"
)

// toy returns a pair with perClass samples of each of c classes, one pixel
// per sample holding its index (mod 256).
func toy(c, perClass int) datasets.Pair {
	mk := func(name string) *datasets.Dataset {
		d := &datasets.Dataset{Name: name, Shape: []int{1}, NumClasses: c}
		for i := range c * perClass {
			d.Labels = append(d.Labels, int32(i%c))
			d.Pixels = append(d.Pixels, uint8(i))
		}
		return d
	}
	return datasets.Pair{Train: mk("train"), Test: mk("test")}
}

func TestSplitClassesFixedOrder(t *testing.T) {
	p := toy(10, 7)
	s, err := SplitClasses(p, SplitConfig{Name: "toy", NumExperiences: 5})
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Experiences) != 5 || s.NumClasses != 10 || s.InputDim != 1 || s.Scenario != ClassIncremental {
		t.Fatalf("stream %+v", s)
	}
	for i, e := range s.Experiences {
		want := []int32{int32(2 * i), int32(2*i + 1)}
		if !slices.Equal(e.Classes, want) {
			t.Errorf("experience %d classes %v, want %v", e.ID, e.Classes, want)
		}
		if e.Train.Len() != 14 || e.Test.Len() != 14 {
			t.Errorf("experience %d: %d train, %d test samples, want 14 and 14", e.ID, e.Train.Len(), e.Test.Len())
		}
		for _, idx := range e.Train.Index {
			if y := p.Train.Labels[idx]; !slices.Contains(want, y) {
				t.Errorf("experience %d holds a sample of class %d", e.ID, y)
			}
		}
		if !slices.IsSorted(e.Train.Index) {
			t.Errorf("experience %d: samples not in dataset order", e.ID)
		}
	}
}

func TestSplitClassesUnevenAndOrders(t *testing.T) {
	if got := ExperienceSizes(10, 3); !slices.Equal(got, []int{4, 3, 3}) {
		t.Errorf("10 classes into 3: %v, want [4 3 3]", got)
	}
	p := toy(10, 3)
	s, err := SplitClasses(p, SplitConfig{NumExperiences: 3, ClassOrder: []int{9, 8, 7, 6, 5, 4, 3, 2, 1, 0}})
	if err != nil {
		t.Fatal(err)
	}
	want := [][]int32{{6, 7, 8, 9}, {3, 4, 5}, {0, 1, 2}}
	for i, e := range s.Experiences {
		if !slices.Equal(e.Classes, want[i]) {
			t.Errorf("experience %d classes %v, want %v", e.ID, e.Classes, want[i])
		}
	}
	orderOf := func(seed uint64) [][]int32 {
		s, err := SplitClasses(p, SplitConfig{NumExperiences: 5, PermuteClasses: true, Seed: seed})
		if err != nil {
			t.Fatal(err)
		}
		var out [][]int32
		for _, e := range s.Experiences {
			out = append(out, e.Classes)
		}
		return out
	}
	a, b, c := orderOf(1), orderOf(1), orderOf(2)
	if !slices.EqualFunc(a, b, slices.Equal) {
		t.Errorf("same seed, different class orders: %v %v", a, b)
	}
	if slices.EqualFunc(a, c, slices.Equal) {
		t.Errorf("seeds 1 and 2 gave the same class order %v", a)
	}
	seen := map[int32]bool{}
	for _, cl := range a {
		for _, k := range cl {
			if seen[k] {
				t.Errorf("class %d in two experiences", k)
			}
			seen[k] = true
		}
	}
	if len(seen) != 10 {
		t.Errorf("permuted split covers %d classes, want 10", len(seen))
	}
}

func TestSplitConfigRejects(t *testing.T) {
	p := toy(4, 2)
	for _, cfg := range []SplitConfig{
		{NumExperiences: -1},
		{NumExperiences: 5},
		{ClassOrder: []int{0, 0, 1}, NumExperiences: 2},
		{ClassOrder: []int{0, 4}, NumExperiences: 2},
		{ClassOrder: []int{0, 1}, PermuteClasses: true, NumExperiences: 2},
		{NumExperiences: 2, Scenario: "online"},
		{NumExperiences: 3, Sizes: []int{2, 2}},
		{NumExperiences: 2, Sizes: []int{3, 2}},
		{NumExperiences: 2, Sizes: []int{4, 0}},
	} {
		if _, err := SplitClasses(p, cfg); err == nil {
			t.Errorf("%+v accepted", cfg)
		}
	}
}

func TestLoaderEpochs(t *testing.T) {
	p := toy(2, 5) // 10 samples
	v := View{Data: p.Train, Index: []int32{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}}
	l := NewLoader(v, 4, NewRand(7, RandShuffle))
	if l.BatchesPerEpoch() != 3 {
		t.Fatalf("BatchesPerEpoch %d, want 3", l.BatchesPerEpoch())
	}
	b := &Batch{X: make([]float32, 4), Y: make([]int32, 4)}
	var epochs [][]int32
	for range 2 {
		var ep []int32
		for _, n := range []int{4, 4, 2} {
			l.Next(b)
			if b.N != n {
				t.Fatalf("batch of %d, want %d", b.N, n)
			}
			for i, pos := range b.Pos {
				if b.X[i] != datasets.PixelValue(uint8(pos)) || b.Y[i] != p.Train.Labels[pos] {
					t.Fatalf("batch row %d does not hold sample %d", i, pos)
				}
			}
			ep = append(ep, b.Pos...)
		}
		sorted := slices.Clone(ep)
		slices.Sort(sorted)
		if !slices.Equal(sorted, v.Index) {
			t.Fatalf("epoch %v is not a permutation of the view", ep)
		}
		epochs = append(epochs, ep)
	}
	if slices.Equal(epochs[0], epochs[1]) {
		t.Errorf("two epochs in the same order %v: shuffling is not per epoch", epochs[0])
	}
	// Same seed, same order.
	l2 := NewLoader(v, 4, NewRand(7, RandShuffle))
	var again []int32
	for range 3 {
		l2.Next(b)
		again = append(again, b.Pos...)
	}
	if !slices.Equal(again, epochs[0]) {
		t.Errorf("same seed gave %v, then %v", epochs[0], again)
	}
}
