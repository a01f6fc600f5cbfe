package streams

import (
	"fmt"
	"slices"

	"github.com/cleval/cleval/datasets"
)

// SplitConfig describes a class split of a labelled dataset.
type SplitConfig struct {
	// Name of the resulting stream, e.g. "split-mnist".
	Name string
	// NumExperiences is the number of experiences; zero means 5.
	NumExperiences int
	// ClassOrder is the order in which classes are assigned to experiences.
	// Nil means 0, 1, ..., C-1 (or a seeded permutation of it when
	// PermuteClasses is set). When given it must be a permutation of a
	// subset of the dataset's classes; classes left out are not used.
	ClassOrder []int
	// PermuteClasses draws the class order with Seed.
	PermuteClasses bool
	Seed           uint64
	// Scenario is ClassIncremental (zero value) or TaskIncremental.
	Scenario Scenario
}

// Validate checks the configuration against a dataset with numClasses
// classes.
func (c SplitConfig) Validate(numClasses int) error {
	n := c.NumExperiences
	if n == 0 {
		n = 5
	}
	if n < 0 {
		return fmt.Errorf("streams: number of experiences %d: must be positive", c.NumExperiences)
	}
	classes := numClasses
	if c.ClassOrder != nil {
		if c.PermuteClasses {
			return fmt.Errorf("streams: a class order and a permuted class order were both requested")
		}
		seen := make([]bool, numClasses)
		for _, k := range c.ClassOrder {
			if k < 0 || k >= numClasses {
				return fmt.Errorf("streams: class order: class %d out of range [0, %d)", k, numClasses)
			}
			if seen[k] {
				return fmt.Errorf("streams: class order: class %d listed twice", k)
			}
			seen[k] = true
		}
		classes = len(c.ClassOrder)
	}
	if n > classes {
		return fmt.Errorf("streams: %d experiences for %d classes: at most one experience per class", n, classes)
	}
	switch c.Scenario {
	case "", ClassIncremental, TaskIncremental:
	default:
		return fmt.Errorf("streams: scenario %q: a class split is class-incremental or task-incremental", c.Scenario)
	}
	return nil
}

// ExperienceSizes returns how many classes each of n experiences gets when
// c classes are split: c/n each, and the first c mod n experiences one more
// (10 classes into 3 experiences: 4, 3, 3).
func ExperienceSizes(c, n int) []int {
	sizes := make([]int, n)
	for i := range sizes {
		sizes[i] = c / n
		if i < c%n {
			sizes[i]++
		}
	}
	return sizes
}

// SplitClasses cuts the classes of a train/test pair into experiences: the
// class-incremental (or task-incremental) split used by Split-MNIST.
// Within an experience, samples keep dataset order.
func SplitClasses(p datasets.Pair, cfg SplitConfig) (*Stream, error) {
	nc := p.Train.NumClasses
	if p.Test.NumClasses != nc {
		return nil, fmt.Errorf("streams: train has %d classes, test %d", nc, p.Test.NumClasses)
	}
	if p.Train.Dim() != p.Test.Dim() {
		return nil, fmt.Errorf("streams: train samples have %d values, test %d", p.Train.Dim(), p.Test.Dim())
	}
	if err := cfg.Validate(nc); err != nil {
		return nil, err
	}
	n := cfg.NumExperiences
	if n == 0 {
		n = 5
	}
	order := cfg.ClassOrder
	if order == nil {
		order = make([]int, nc)
		for i := range order {
			order[i] = i
		}
		if cfg.PermuteClasses {
			p32 := make([]int32, nc)
			for i := range p32 {
				p32[i] = int32(i)
			}
			Shuffle(NewRand(cfg.Seed, RandStream), p32)
			for i, v := range p32 {
				order[i] = int(v)
			}
		}
	}
	scen := cfg.Scenario
	if scen == "" {
		scen = ClassIncremental
	}
	expOf := make([]int, nc) // class -> experience index, -1 unused
	for i := range expOf {
		expOf[i] = -1
	}
	s := &Stream{Name: cfg.Name, Scenario: scen, NumClasses: nc, InputDim: p.Train.Dim()}
	at := 0
	for e, size := range ExperienceSizes(len(order), n) {
		ex := &Experience{ID: e + 1, Task: e}
		for _, k := range order[at : at+size] {
			ex.Classes = append(ex.Classes, int32(k))
			expOf[k] = e
		}
		slices.Sort(ex.Classes)
		at += size
		ex.Train.Data = p.Train
		ex.Test.Data = p.Test
		s.Experiences = append(s.Experiences, ex)
	}
	for i, y := range p.Train.Labels {
		if e := expOf[y]; e >= 0 {
			s.Experiences[e].Train.Index = append(s.Experiences[e].Train.Index, int32(i))
		}
	}
	for i, y := range p.Test.Labels {
		if e := expOf[y]; e >= 0 {
			s.Experiences[e].Test.Index = append(s.Experiences[e].Test.Index, int32(i))
		}
	}
	s.SetTaskMasks()
	if err := s.Validate(); err != nil {
		return nil, err
	}
	return s, nil
}
