package replay

import (
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/cleval/cleval/strategies/strategytest"
	"github.com/cleval/cleval/streams"
)

func TestExperienceBalancedQuotas(t *testing.T) {
	if got := ExperienceQuotas(10, 3); !slices.Equal(got, []int{4, 3, 3}) {
		t.Errorf("quotas %v, want [4 3 3]", got)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	m := NewMemory(ExperienceBalanced, 100, 10)
	exps := []*streams.Experience{
		experience(1, []int32{0, 1}, 500, 10),
		experience(2, []int32{2, 3}, 500, 10),
		experience(3, []int32{4, 5}, 10, 10), // 20 samples, fewer than its quota
	}
	m.AddExperienceBalanced(rng, exps[0])
	if got := m.ExperienceCounts(); !slices.Equal(got, []int{100}) {
		t.Fatalf("after 1: %v", got)
	}
	first := map[int32]bool{}
	for k := range m.Len() {
		first[m.Item(k).Pos] = true
	}
	m.AddExperienceBalanced(rng, exps[1])
	if got := m.ExperienceCounts(); !slices.Equal(got, []int{50, 50}) {
		t.Fatalf("after 2: %v, want [50 50]", got)
	}
	m.AddExperienceBalanced(rng, exps[2])
	if got := m.ExperienceCounts(); !slices.Equal(got, []int{34, 33, 20}) {
		t.Fatalf("after 3: %v, want [34 33 20]", got)
	}
	// Nested: experience 1's samples are a subset of those it held first.
	for k := range m.Len() {
		if it := m.Item(k); it.Exp.ID == 1 && !first[it.Pos] {
			t.Fatalf("sample %d of experience 1 came back after being dropped", it.Pos)
		}
	}
}

func TestExperienceBalancedStep(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	const trials = 4000
	counts := make([]int, 20)
	for range trials {
		m := NewMemory(ExperienceBalanced, 10, 4)
		e1 := experience(1, []int32{0, 1}, 10, 4)
		e2 := experience(2, []int32{2, 3}, 10, 4)
		m.StartExperience()
		for p := range 20 {
			m.OfferExperience(rng, Item{Exp: e1, Pos: int32(p), Label: e1.Train.Label(int32(p))})
		}
		if got := m.ExperienceCounts(); !slices.Equal(got, []int{10}) {
			t.Fatalf("during experience 1: %v", got)
		}
		m.StartExperience()
		for p := range 20 {
			m.OfferExperience(rng, Item{Exp: e2, Pos: int32(p), Label: e2.Train.Label(int32(p))})
		}
		if got := m.ExperienceCounts(); !slices.Equal(got, []int{5, 5}) {
			t.Fatalf("during experience 2: %v", got)
		}
		for k := range m.Len() {
			if it := m.Item(k); it.Exp.ID == 1 {
				counts[it.Pos]++
			}
		}
	}
	// Each of experience 1's 20 samples survives with probability 5/20.
	for p, c := range counts {
		if d := c - trials/4; d > 160 || d < -160 { // sd ≈ 27
			t.Errorf("sample %d kept %d times of %d, want about %d", p, c, trials, trials/4)
		}
	}
}

// TestClassBalancedDomainIncremental: a class seen in two experiences keeps
// samples of both in proportion (reservoir per class).
func TestClassBalancedDomainIncremental(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	total := [2]int{}
	for range 200 {
		m := NewMemory(ClassBalanced, 20, 2)
		m.AddExperience(rng, experience(1, []int32{0, 1}, 100, 2))
		m.AddExperience(rng, experience(2, []int32{0, 1}, 100, 2))
		if got := m.ClassCounts(); !slices.Equal(got, []int{10, 10}) {
			t.Fatalf("class counts %v, want [10 10]", got)
		}
		for k := range m.Len() {
			total[m.Item(k).Exp.ID-1]++
		}
	}
	// 4000 stored in all, half from each experience (sd ≈ 32).
	if d := total[0] - 2000; d > 200 || d < -200 {
		t.Errorf("stored from experiences 1 and 2: %v, want about 2000 each", total)
	}
}

func TestLambdaSchedules(t *testing.T) {
	c := DefaultConfig()
	c.Loss, c.Lambda, c.LambdaSchedule = LossWeighted, 1, ScheduleInverse
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	for id, want := range map[int]float64{1: 1, 2: 0.5, 3: 1.0 / 3, 4: 0.25, 5: 0.2} {
		if got := c.LambdaAt(id); got != want {
			t.Errorf("inverse, experience %d: λ = %v, want %v", id, got, want)
		}
	}
	c.Lambda = 0.6
	if got, want := c.LambdaAt(3), c.Lambda/3; got != want {
		t.Errorf("inverse with lambda 0.6, experience 3: %v, want 0.2", got)
	}
	c.LambdaSchedule = ScheduleConstant
	for id := 1; id <= 5; id++ {
		if got := c.LambdaAt(id); got != 0.6 {
			t.Errorf("constant, experience %d: %v", id, got)
		}
	}
	for _, bad := range []Config{
		{MemoryConfig: MemoryConfig{MemSize: 10, Buffer: ClassBalanced}, Loss: LossWeighted, Lambda: -0.1, LambdaSchedule: ScheduleConstant},
		{MemoryConfig: MemoryConfig{MemSize: 10, Buffer: ClassBalanced}, Loss: LossWeighted, Lambda: 1.1, LambdaSchedule: ScheduleConstant},
		{MemoryConfig: MemoryConfig{MemSize: 10, Buffer: ClassBalanced}, Loss: LossWeighted, Lambda: 0.5, LambdaSchedule: "linear"},
		{MemoryConfig: MemoryConfig{MemSize: -1, Buffer: ClassBalanced}, Loss: LossConcat, LambdaSchedule: ScheduleConstant},
	} {
		if bad.Validate() == nil {
			t.Errorf("%+v accepted", bad)
		}
	}
}

// TestERACEMasks checks which classes each convention keeps for the new
// batch.
func TestERACEMasks(t *testing.T) {
	o := strategytest.Options{Classes: 6, Experiences: 3, BatchSize: 8}
	for _, tc := range []struct {
		convention string
		// during experience 1 and 2: nil means no masking
		check func(t *testing.T, id int, keep []bool, present []bool, seenMax int)
	}{
		{ACEAvalanche, func(t *testing.T, id int, keep, present []bool, _ int) {
			if id == 2 && !slices.Equal(keep, present) {
				t.Errorf("avalanche keeps %v, want the batch's classes %v", keep, present)
			}
		}},
		{ACEAML, func(t *testing.T, id int, keep, present []bool, seenMax int) {
			if id == 1 {
				return
			}
			for c := range keep {
				want := present[c] || c >= seenMax
				if keep[c] != want {
					t.Errorf("aml: class %d kept %v, want %v (present %v, max seen %d)", c, keep[c], want, present, seenMax)
				}
			}
		}},
	} {
		t.Run(tc.convention, func(t *testing.T) {
			s := strategytest.Stream(o)
			ctx := strategytest.Context(s, o)
			st := strategytest.New(t, "er-ace", `{"mem_size":20,"replay_batch_size":4,"convention":"`+tc.convention+`"}`).(*ERACE)
			d := strategytest.NewDriver(t, ctx, st)
			d.Experience(t, 1, 1)
			l := d.Start(t, 2)
			maxSeen := 1 // experience 1 brought classes 0 and 1
			for range 5 {
				d.Step(t, l)
				present := make([]bool, 6)
				for _, y := range d.Batch().Y[:d.Batch().N] {
					present[y] = true
					maxSeen = max(maxSeen, int(y))
				}
				tc.check(t, 2, st.Keep(), present, maxSeen)
			}
		})
	}
}

// TestStepUpdateOncePerMiniBatch: with repeated updates on a mini-batch
// (online streams), a memory updated every step stores its samples once.
func TestStepUpdateOncePerMiniBatch(t *testing.T) {
	o := strategytest.Options{Classes: 4, Experiences: 2, BatchSize: 5}
	s := strategytest.Stream(o)
	ctx := strategytest.Context(s, o)
	st := strategytest.New(t, "er", `{"mem_size":1000,"buffer":"reservoir"}`).(*ER)
	d := strategytest.NewDriver(t, ctx, st)
	l := d.Start(t, 1)
	d.Step(t, l)
	b := d.Batch()
	for r := 1; r < 3; r++ {
		b.Repeat = r
		if _, err := st.Step(ctx, b); err != nil {
			t.Fatal(err)
		}
	}
	if n := st.Memory().Len(); n != 5 {
		t.Errorf("memory holds %d after 3 updates on one mini-batch of 5, want 5", n)
	}
}
