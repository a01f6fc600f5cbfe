package replay

import (
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/cleval/cleval/datasets"
	"github.com/cleval/cleval/streams"
)

// experience returns an experience with n samples of each listed class.
func experience(id int, classes []int32, n int, numClasses int) *streams.Experience {
	d := &datasets.Dataset{Shape: []int{1}, NumClasses: numClasses}
	e := &streams.Experience{ID: id, Classes: classes}
	for i := range n * len(classes) {
		d.Labels = append(d.Labels, classes[i%len(classes)])
		d.Pixels = append(d.Pixels, 0)
		e.Train.Index = append(e.Train.Index, int32(i))
	}
	e.Train.Data = d
	return e
}

func TestClassBalancedExperienceEnd(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	m := NewMemory(ClassBalanced, 2000, 10)
	m.AddExperience(rng, experience(1, []int32{0, 1}, 6000, 10))
	if got := m.ClassCounts(); got[0] != 1000 || got[1] != 1000 || m.Len() != 2000 {
		t.Fatalf("after experience 1: %v, want 1000 of classes 0 and 1", got)
	}
	m.AddExperience(rng, experience(2, []int32{2, 3}, 6000, 10))
	if got := m.ClassCounts(); !slices.Equal(got[:4], []int{500, 500, 500, 500}) {
		t.Fatalf("after experience 2: %v, want 500 each of 0..3", got)
	}
	m.AddExperience(rng, experience(3, []int32{4, 5}, 6000, 10))
	// 2000/6 = 333 per class.
	if got := m.ClassCounts(); !slices.Equal(got[:6], []int{333, 333, 333, 333, 333, 333}) || m.Len() != 1998 {
		t.Fatalf("after experience 3: %v (len %d), want 333 each of 0..5", got, m.Len())
	}
	// Stored items are distinct and of the class they are filed under.
	seen := map[[2]int32]bool{}
	for k := range m.Len() {
		it := m.Item(k)
		if it.Exp.Train.Label(it.Pos) != it.Label {
			t.Fatalf("item %d label %d, sample label %d", k, it.Label, it.Exp.Train.Label(it.Pos))
		}
		key := [2]int32{int32(it.Exp.ID), it.Pos}
		if seen[key] {
			t.Fatalf("sample %v stored twice", key)
		}
		seen[key] = true
	}
	// A class with fewer samples than the quota keeps them all.
	m2 := NewMemory(ClassBalanced, 100, 3)
	m2.AddExperience(rng, experience(1, []int32{0, 1, 2}, 10, 3))
	if got := m2.ClassCounts(); !slices.Equal(got, []int{10, 10, 10}) {
		t.Errorf("small classes: %v, want all 10 kept", got)
	}
}

func TestReservoirIsUniform(t *testing.T) {
	// Offer 10 samples to a memory of 5, many times: each sample must be
	// stored with probability 1/2.
	const trials = 20000
	counts := make([]int, 10)
	rng := rand.New(rand.NewPCG(2, 2))
	e := experience(1, []int32{0}, 10, 1)
	for range trials {
		m := NewMemory(Reservoir, 5, 1)
		for p := range 10 {
			m.Offer(rng, Item{Exp: e, Pos: int32(p)})
		}
		if m.Len() != 5 {
			t.Fatalf("reservoir holds %d, want 5", m.Len())
		}
		for k := range m.Len() {
			counts[m.Item(k).Pos]++
		}
	}
	for p, c := range counts {
		// binomial sd = sqrt(20000·0.25) ≈ 71; allow 5 sd.
		if d := c - trials/2; d > 355 || d < -355 {
			t.Errorf("sample %d stored %d times in %d trials, want about %d", p, c, trials, trials/2)
		}
	}
}

func TestClassBalancedReservoirBalances(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 3))
	m := NewMemory(ClassBalanced, 100, 4)
	// A stream of 1000 samples of class 0, then 300 of class 1, then 50 of class 2.
	for i, n := range []int{1000, 300, 50} {
		e := experience(i+1, []int32{int32(i)}, n, 4)
		for p := range n {
			m.Offer(rng, Item{Exp: e, Pos: int32(p), Label: int32(i)})
		}
	}
	got := m.ClassCounts()
	if m.Len() != 100 {
		t.Fatalf("memory holds %d, want 100", m.Len())
	}
	// CBRS: each sample of the smaller, newer class takes a slot from a
	// largest class until the classes are even: 50 samples of class 2 are
	// enough to reach 33 or 34 each.
	if got[2] < 33 || got[0] > 34 || got[1] > 34 || got[0] < 33 || got[1] < 33 {
		t.Errorf("class counts %v, want about 33 each", got)
	}
}

func TestSampleDistinctAndUniform(t *testing.T) {
	rng := rand.New(rand.NewPCG(4, 4))
	m := NewMemory(ClassBalanced, 20, 2)
	m.AddExperience(rng, experience(1, []int32{0, 1}, 10, 2))
	counts := make([]int, m.Len())
	var sel []int
	for range 10000 {
		sel = m.Sample(rng, 5, sel[:0])
		if len(sel) != 5 {
			t.Fatalf("sample of %d, want 5", len(sel))
		}
		seen := map[int]bool{}
		for _, k := range sel {
			if seen[k] {
				t.Fatalf("item %d drawn twice in one batch", k)
			}
			seen[k] = true
			counts[k]++
		}
	}
	for k, c := range counts {
		// expected 10000·5/20 = 2500, sd ≈ 43
		if c < 2250 || c > 2750 {
			t.Errorf("item %d drawn %d times, want about 2500", k, c)
		}
	}
	if got := m.Sample(rng, 50, nil); len(got) != 20 {
		t.Errorf("asking for more than stored gave %d, want all 20", len(got))
	}
}
