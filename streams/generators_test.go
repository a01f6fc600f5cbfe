package streams

import (
	"fmt"
	"math"
	"slices"
	"testing"

	"github.com/cleval/cleval/datasets"
)

// images returns a pair of c classes with perClass random 4×4 images per
// class in each split (sample i has class i mod c).
func images(c, perClass int, seed uint64) datasets.Pair {
	rng := NewRand(seed, 99)
	mk := func(name string) *datasets.Dataset {
		d := &datasets.Dataset{Name: name, Shape: []int{4, 4}, NumClasses: c}
		for i := range c * perClass {
			d.Labels = append(d.Labels, int32(i%c))
			for range 16 {
				d.Pixels = append(d.Pixels, uint8(rng.IntN(256)))
			}
		}
		return d
	}
	return datasets.Pair{Train: mk("img/train"), Test: mk("img/test")}
}

// gather returns every training sample of e as float32 rows and labels.
func gather(e *Experience, v View) ([]float32, []int32) {
	n := v.Len()
	d := v.Data.Dim()
	x, y := make([]float32, n*d), make([]int32, n)
	pos := make([]int32, n)
	for i := range pos {
		pos[i] = int32(i)
	}
	v.Gather(x, y, pos, nil)
	return x, y
}

// classesOf returns the distinct labels of a view, ascending.
func classesOf(v View) []int32 {
	var out []int32
	for p := range int32(v.Len()) {
		if y := v.Label(p); !slices.Contains(out, y) {
			out = append(out, y)
		}
	}
	slices.Sort(out)
	return out
}

func TestSplitSizesAndScenarios(t *testing.T) {
	p := toy(10, 6)
	// Uneven explicit sizes.
	s, err := SplitClasses(p, SplitConfig{Sizes: []int{5, 1, 1, 1, 1, 1}})
	if err != nil {
		t.Fatal(err)
	}
	want := [][]int32{{0, 1, 2, 3, 4}, {5}, {6}, {7}, {8}, {9}}
	for i, e := range s.Experiences {
		if !slices.Equal(e.Classes, want[i]) || !slices.Equal(classesOf(e.Train), want[i]) || !slices.Equal(classesOf(e.Test), want[i]) {
			t.Errorf("experience %d: classes %v (train %v, test %v), want %v", e.ID, e.Classes, classesOf(e.Train), classesOf(e.Test), want[i])
		}
		if e.Train.Len() != 6*len(want[i]) || e.Test.Len() != 6*len(want[i]) {
			t.Errorf("experience %d: %d/%d samples, want %d", e.ID, e.Train.Len(), e.Test.Len(), 6*len(want[i]))
		}
	}
	// Task-incremental: masks mark exactly each task's classes.
	s, err = SplitClasses(p, SplitConfig{NumExperiences: 3, Scenario: TaskIncremental})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range s.Experiences {
		m := s.Mask(e.Task)
		for c := range 10 {
			if m[c] != slices.Contains(e.Classes, int32(c)) {
				t.Errorf("task %d: mask[%d] = %v with classes %v", e.Task, c, m[c], e.Classes)
			}
		}
	}
	if cs, err := SplitClasses(p, SplitConfig{NumExperiences: 3}); err != nil || cs.Mask(0) != nil {
		t.Errorf("class-incremental stream has a mask: %v", err)
	}
	// Domain-incremental: every experience's classes become 0, 1 (in class
	// order), and the samples keep their images.
	s, err = SplitClasses(p, SplitConfig{NumExperiences: 5, ClassOrder: []int{1, 0, 3, 2, 5, 4, 7, 6, 9, 8}, Scenario: DomainIncremental})
	if err != nil {
		t.Fatal(err)
	}
	if s.NumClasses != 2 || s.Scenario != DomainIncremental {
		t.Fatalf("domain-incremental split: %d classes, scenario %s", s.NumClasses, s.Scenario)
	}
	for _, e := range s.Experiences {
		if !slices.Equal(e.Classes, []int32{0, 1}) || !slices.Equal(classesOf(e.Train), []int32{0, 1}) {
			t.Errorf("experience %d: classes %v / %v, want [0 1]", e.ID, e.Classes, classesOf(e.Train))
		}
		_, y := gather(e, e.Train)
		for i, idx := range e.Train.Index {
			orig := p.Train.Labels[idx]
			// Class order 1,0 | 3,2 ...: the odd class comes first, so it is label 0.
			if want := 1 - orig%2; y[i] != want {
				t.Fatalf("experience %d: class %d relabelled %d, want %d", e.ID, orig, y[i], want)
			}
		}
	}
}

func TestPermutedStream(t *testing.T) {
	p := images(3, 5, 1)
	s, err := Permuted(p, PermutedConfig{Name: "perm", NumExperiences: 4, Seed: 7})
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Experiences) != 4 || s.Scenario != DomainIncremental || s.NumClasses != 3 || s.InputDim != 16 {
		t.Fatalf("stream: %d experiences, %s, %d classes, dim %d", len(s.Experiences), s.Scenario, s.NumClasses, s.InputDim)
	}
	for _, e := range s.Experiences {
		if e.Train.Len() != 15 || e.Test.Len() != 15 || !slices.Equal(e.Classes, []int32{0, 1, 2}) {
			t.Errorf("experience %d: %d/%d samples, classes %v", e.ID, e.Train.Len(), e.Test.Len(), e.Classes)
		}
		// The permutation is a bijection, and gathered samples are the
		// original pixels permuted.
		m := e.Train.Map
		sorted := slices.Clone(m.Src)
		slices.Sort(sorted)
		for i, v := range sorted {
			if v != int32(i) {
				t.Fatalf("experience %d: permutation %v is not a bijection", e.ID, m.Src)
			}
		}
		x, y := gather(e, e.Train)
		for i := range 15 {
			for k := range 16 {
				if x[i*16+k] != datasets.PixelValue(p.Train.Pixels[i*16+int(m.Src[k])]) {
					t.Fatalf("experience %d: sample %d value %d is not pixel %d", e.ID, i, k, m.Src[k])
				}
			}
			if y[i] != p.Train.Labels[i] {
				t.Fatalf("label changed")
			}
		}
		if e.Test.Map != m {
			t.Errorf("experience %d: train and test have different permutations", e.ID)
		}
	}
	if slices.Equal(s.Experiences[0].Train.Map.Src, s.Experiences[1].Train.Map.Src) {
		t.Error("experiences 1 and 2 have the same permutation")
	}
	// Same seed, same permutations; another seed, other ones.
	again, _ := Permuted(p, PermutedConfig{NumExperiences: 4, Seed: 7})
	other, _ := Permuted(p, PermutedConfig{NumExperiences: 4, Seed: 8})
	for k := range 4 {
		if !slices.Equal(again.Experiences[k].Train.Map.Src, s.Experiences[k].Train.Map.Src) {
			t.Errorf("experience %d: same seed, different permutation", k+1)
		}
		if slices.Equal(other.Experiences[k].Train.Map.Src, s.Experiences[k].Train.Map.Src) {
			t.Errorf("experience %d: seeds 7 and 8 give the same permutation", k+1)
		}
	}
	id, _ := Permuted(p, PermutedConfig{NumExperiences: 2, Seed: 7, IdentityFirst: true})
	if id.Experiences[0].Train.Map != nil || id.Experiences[1].Train.Map == nil {
		t.Error("IdentityFirst: experience 1 is permuted or experience 2 is not")
	}
	// Class- and task-incremental permuted streams offset the labels.
	ti, err := Permuted(p, PermutedConfig{NumExperiences: 3, Seed: 7, Scenario: TaskIncremental})
	if err != nil {
		t.Fatal(err)
	}
	if ti.NumClasses != 9 {
		t.Fatalf("task-incremental permuted stream has %d classes, want 9", ti.NumClasses)
	}
	for _, e := range ti.Experiences {
		off := int32(3 * (e.ID - 1))
		if !slices.Equal(e.Classes, []int32{off, off + 1, off + 2}) || !slices.Equal(classesOf(e.Test), e.Classes) {
			t.Errorf("experience %d: classes %v / test %v", e.ID, e.Classes, classesOf(e.Test))
		}
		m := ti.Mask(e.Task)
		for c := range 9 {
			if m[c] != (int32(c) >= off && int32(c) < off+3) {
				t.Errorf("experience %d: mask %v", e.ID, m)
				break
			}
		}
	}
}

func TestRotatedStream(t *testing.T) {
	p := images(2, 4, 2)
	s, err := Rotated(p, "rot", []float64{0, 90, 37}, "")
	if err != nil {
		t.Fatal(err)
	}
	if s.Scenario != DomainIncremental || len(s.Experiences) != 3 || s.Experiences[1].Name != "rotate 90°" {
		t.Fatalf("stream %s, %d experiences, %q", s.Scenario, len(s.Experiences), s.Experiences[1].Name)
	}
	x0, _ := gather(s.Experiences[0], s.Experiences[0].Test)
	x1, _ := gather(s.Experiences[1], s.Experiences[1].Test)
	// Experience 1 is the original; experience 2 its exact quarter turn.
	for i := range 8 {
		for r := range 4 {
			for c := range 4 {
				if x0[i*16+r*4+c] != datasets.PixelValue(p.Test.Pixels[i*16+r*4+c]) {
					t.Fatal("rotation by 0° changed a pixel")
				}
				if x1[i*16+r*4+c] != x0[i*16+c*4+3-r] {
					t.Fatalf("sample %d: rotation by 90° is not the quarter-turn permutation", i)
				}
			}
		}
	}
	if _, err := Rotated(toy(2, 2), "rot", []float64{0, 10}, ""); err == nil {
		t.Error("rotated a one-dimensional dataset")
	}
}

func TestConcatMNISTThenFashion(t *testing.T) {
	a, b := images(4, 3, 1), images(4, 3, 2)
	split := func(p datasets.Pair, scen Scenario) *Stream {
		s, err := SplitClasses(p, SplitConfig{NumExperiences: 2, Scenario: scen})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	for _, scen := range []Scenario{ClassIncremental, TaskIncremental} {
		s, err := Concat("ab", scen, split(a, ClassIncremental), split(b, ClassIncremental))
		if err != nil {
			t.Fatal(err)
		}
		if s.NumClasses != 8 || len(s.Experiences) != 4 {
			t.Fatalf("%s: %d classes, %d experiences", scen, s.NumClasses, len(s.Experiences))
		}
		want := [][]int32{{0, 1}, {2, 3}, {4, 5}, {6, 7}}
		for i, e := range s.Experiences {
			if e.ID != i+1 || e.Task != i || !slices.Equal(e.Classes, want[i]) || !slices.Equal(classesOf(e.Train), want[i]) || !slices.Equal(classesOf(e.Test), want[i]) {
				t.Errorf("%s: experience %d (task %d): classes %v, train %v, test %v, want %v", scen, e.ID, e.Task, e.Classes, classesOf(e.Train), classesOf(e.Test), want[i])
			}
			wantData := a.Train
			if i >= 2 {
				wantData = b.Train
			}
			if e.Train.Data != wantData {
				t.Errorf("experience %d draws from the wrong dataset", e.ID)
			}
		}
		if (scen == TaskIncremental) != (s.Mask(3) != nil) {
			t.Errorf("%s: mask of task 3 = %v", scen, s.Mask(3))
		}
	}
	// Domain-incremental: one 2-way label space.
	s, err := Concat("ab", DomainIncremental, split(a, DomainIncremental), split(b, DomainIncremental))
	if err != nil {
		t.Fatal(err)
	}
	if s.NumClasses != 2 || !slices.Equal(classesOf(s.Experiences[3].Train), []int32{0, 1}) {
		t.Errorf("domain-incremental concat: %d classes, experience 4 labels %v", s.NumClasses, classesOf(s.Experiences[3].Train))
	}
	if _, err := Concat("x", DomainIncremental, split(a, ClassIncremental), split(images(3, 2, 1), ClassIncremental)); err == nil {
		t.Error("domain-incremental concat of 4- and 3-class streams accepted")
	}
}

func TestByTask(t *testing.T) {
	p := images(3, 4, 3) // 12 samples per split
	for _, d := range []*datasets.Dataset{p.Train, p.Test} {
		d.TaskNames = []string{"a", "b"}
		d.Tasks = make([]int32, d.Len())
		for i := range d.Tasks {
			d.Tasks[i] = int32(i / 6)
		}
	}
	s, err := ByTask(p, ByTaskConfig{Name: "tasks"})
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Experiences) != 2 || s.Scenario != DomainIncremental || s.Experiences[1].Name != "task b" {
		t.Fatalf("%d experiences, %s", len(s.Experiences), s.Scenario)
	}
	for _, e := range s.Experiences {
		if e.Train.Len() != 6 || e.Test.Len() != 6 || !slices.Equal(e.Classes, []int32{0, 1, 2}) {
			t.Errorf("experience %d: %d/%d samples, classes %v", e.ID, e.Train.Len(), e.Test.Len(), e.Classes)
		}
		for _, i := range e.Train.Index {
			if int(p.Train.Tasks[i]) != e.Task {
				t.Errorf("experience %d holds a sample of task %d", e.ID, p.Train.Tasks[i])
			}
		}
	}
	if _, err := ByTask(p, ByTaskConfig{NumExperiences: 3}); err == nil {
		t.Error("3 experiences of 2 tasks accepted")
	}
	if _, err := ByTask(toy(2, 2), ByTaskConfig{}); err == nil {
		t.Error("data without tasks accepted")
	}
}

func TestHoldOut(t *testing.T) {
	p := toy(4, 50)
	build := func(seed uint64) *Stream {
		s, err := SplitClasses(p, SplitConfig{NumExperiences: 2})
		if err != nil {
			t.Fatal(err)
		}
		if err := HoldOut(s, 0.1, seed); err != nil {
			t.Fatal(err)
		}
		return s
	}
	s := build(1)
	orig, _ := SplitClasses(p, SplitConfig{NumExperiences: 2})
	for i, e := range s.Experiences {
		if e.Valid.Len() != 10 || e.Train.Len() != 90 {
			t.Errorf("experience %d: %d validation, %d training samples, want 10 and 90", e.ID, e.Valid.Len(), e.Train.Len())
		}
		// Stratified: 5 of each class's 50.
		counts := map[int32]int{}
		for p := range int32(e.Valid.Len()) {
			counts[e.Valid.Label(p)]++
		}
		for _, c := range e.Classes {
			if counts[c] != 5 {
				t.Errorf("experience %d: %d validation samples of class %d, want 5", e.ID, counts[c], c)
			}
		}
		// Disjoint, and together the original training set.
		all := append(slices.Clone(e.Train.Index), e.Valid.Index...)
		slices.Sort(all)
		if !slices.Equal(all, orig.Experiences[i].Train.Index) {
			t.Errorf("experience %d: train and validation do not partition the training set", e.ID)
		}
		if e.Test.Len() != 100 {
			t.Errorf("experience %d: the test split changed", e.ID)
		}
	}
	if !slices.Equal(build(1).Experiences[0].Valid.Index, s.Experiences[0].Valid.Index) {
		t.Error("same seed, different hold-out")
	}
	if slices.Equal(build(2).Experiences[0].Valid.Index, s.Experiences[0].Valid.Index) {
		t.Error("seeds 1 and 2 hold out the same samples")
	}
	small, _ := SplitClasses(toy(2, 3), SplitConfig{NumExperiences: 1})
	if err := HoldOut(small, 0.01, 1); err == nil {
		t.Error("a hold-out of no sample accepted")
	}
}

// TestBlurryMixingProportions checks the documented proportions: in a
// window of W mini-batches around a boundary, mini-batch i holds
// round(b·(i+½)/W) samples of the next experience.
func TestBlurryMixingProportions(t *testing.T) {
	p := toy(6, 100) // 3 experiences of 200 training samples
	s, err := SplitClasses(p, SplitConfig{NumExperiences: 3})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		blur  float64
		batch int
		w     int
	}{{0, 10, 0}, {0.5, 10, 10}, {1, 10, 20}, {0.25, 8, 6}, {0.3, 10, 6}} {
		sc, err := NewSchedule(s, ScheduleConfig{BatchSize: tc.batch, Epochs: 1, Blur: tc.blur})
		if err != nil {
			t.Fatal(err)
		}
		B := (200 + tc.batch - 1) / tc.batch
		if !slices.Equal(sc.Batches, []int{B, B, B}) || sc.Windows[0] != tc.w || sc.Blurry() != (tc.w > 0) {
			t.Fatalf("blur %v: batches %v, windows %v, want %d each and width %d", tc.blur, sc.Batches, sc.Windows, B, tc.w)
		}
		if !slices.Equal(sc.Ends(), []int{B, 2 * B, 3 * B}) {
			t.Errorf("ends %v", sc.Ends())
		}
		// Walk the stream: the share of the next experience per mini-batch.
		var shares []float64 // across the first boundary's window
		var total [4]int     // samples drawn from experiences 1..3
		for k := 1; k <= 3; k++ {
			for j := range sc.Batches[k-1] {
				prev, next := sc.Mix(k, j)
				if prev > 0 && next > 0 {
					t.Fatalf("mini-batch %d of experience %d mixes three experiences", j, k)
				}
				if prev < 0 || next < 0 || prev+next > tc.batch {
					t.Fatalf("mix %d, %d of %d", prev, next, tc.batch)
				}
				total[k] += tc.batch - prev - next
				if k > 1 {
					total[k-1] += prev
				}
				if k < 3 {
					total[k+1] += next
				}
				switch {
				case k == 1 && j >= B-tc.w/2:
					shares = append(shares, float64(next)/float64(tc.batch))
				case k == 2 && j < tc.w-tc.w/2:
					shares = append(shares, float64(tc.batch-prev)/float64(tc.batch))
				case (k == 1 && next != 0) || (k == 2 && prev != 0):
					t.Fatalf("blur %v: mini-batch %d of experience %d mixes outside the window", tc.blur, j, k)
				}
			}
		}
		if len(shares) != tc.w {
			t.Fatalf("blur %v: %d mixed mini-batches, want %d", tc.blur, len(shares), tc.w)
		}
		sum := 0.0
		for i, sh := range shares {
			// The first i mini-batches hold round(b·i²/(2W)) samples of the
			// next experience; mini-batch i about b·(i+½)/W.
			c := func(i int) float64 { return math.Round(float64(tc.batch*i*i) / float64(2*tc.w)) }
			if want := (c(i+1) - c(i)) / float64(tc.batch); sh != want {
				t.Errorf("blur %v: mini-batch %d of the window has share %.2f of the next experience, want %.2f", tc.blur, i, sh, want)
			}
			if ramp := (float64(i) + 0.5) / float64(tc.w); math.Abs(sh-ramp) > 1/float64(tc.batch)+1e-9 {
				t.Errorf("blur %v: mini-batch %d: share %.2f, off the linear ramp %.3f by more than one sample", tc.blur, i, sh, ramp)
			}
			sum += sh
		}
		if got := math.Round(sum * float64(tc.batch)); tc.w > 0 && got != float64(tc.batch*tc.w/2) {
			t.Errorf("blur %v: the window holds %v samples of the next experience, want half of %d", tc.blur, got, tc.batch*tc.w)
		}
		// Every experience still contributes its nominal number of samples
		// (the windows are symmetric), up to rounding.
		for k := 1; k <= 3; k++ {
			if d := total[k] - B*tc.batch; d < -tc.batch || d > tc.batch {
				t.Errorf("blur %v: experience %d gives %d samples, nominal %d", tc.blur, k, total[k], B*tc.batch)
			}
		}
	}
	// Repeat multiplies the updates; Iterations fixes them.
	sc, _ := NewSchedule(s, ScheduleConfig{BatchSize: 10, Epochs: 1, Repeat: 3})
	if sc.Updates(1) != 60 || sc.Total() != 180 {
		t.Errorf("repeat 3: %d updates per experience, %d in all", sc.Updates(1), sc.Total())
	}
	sc, _ = NewSchedule(s, ScheduleConfig{BatchSize: 10, Epochs: 1, Iterations: 12, Repeat: 3})
	if !slices.Equal(sc.Batches, []int{4, 4, 4}) || !slices.Equal(sc.Ends(), []int{12, 24, 36}) {
		t.Errorf("iterations 12, repeat 3: batches %v, ends %v", sc.Batches, sc.Ends())
	}
	for _, bad := range []ScheduleConfig{{BatchSize: 0, Epochs: 1}, {BatchSize: 1, Epochs: 1, Blur: 1.5}, {BatchSize: 1, Iterations: 10, Repeat: 3}, {BatchSize: 1}} {
		if _, err := NewSchedule(s, bad); err == nil {
			t.Errorf("%+v accepted", bad)
		}
	}
}

func TestLoaderFill(t *testing.T) {
	p := toy(2, 5) // 10 samples
	v := View{Data: p.Train, Index: []int32{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}, Labels: []int32{1, 0}}
	l := NewLoader(v, 4, NewRand(1, RandShuffle))
	b := &Batch{X: make([]float32, 8), Y: make([]int32, 8), Pos: make([]int32, 0, 8)}
	var seen []int32
	for range 5 { // 5 fills of 4 = two epochs
		l.Fill(b, 2, 4)
		for i := 2; i < 6; i++ {
			pos := b.Pos[i]
			if b.X[i] != datasets.PixelValue(uint8(pos)) || b.Y[i] != 1-p.Train.Labels[pos] {
				t.Fatalf("row %d does not hold sample %d with its mapped label", i, pos)
			}
		}
		seen = append(seen, b.Pos[2:6]...)
	}
	for e := range 2 {
		ep := slices.Clone(seen[10*e : 10*e+10])
		slices.Sort(ep)
		if !slices.Equal(ep, v.Index) {
			t.Errorf("epoch %d: %v is not a permutation", e, seen[10*e:10*e+10])
		}
	}
	if allocs := testing.AllocsPerRun(20, func() { l.Fill(b, 0, 8) }); allocs != 0 {
		t.Errorf("Fill allocates %v times", allocs)
	}
}

func ExampleExperienceSizes() {
	fmt.Println(ExperienceSizes(10, 3), ExperienceSizes(10, 5), ExperienceSizes(7, 7))
	// Output: [4 3 3] [2 2 2 2 2] [1 1 1 1 1 1 1]
}
