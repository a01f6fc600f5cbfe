package streams

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/cleval/cleval/datasets"
)

// SplitConfig describes a class split of a labelled dataset.
type SplitConfig struct {
	// Name of the resulting stream, e.g. "split-mnist".
	Name string
	// NumExperiences is the number of experiences; zero means len(Sizes)
	// when Sizes is set, else 5.
	NumExperiences int
	// Sizes, when set, gives the number of classes of each experience, in
	// order (e.g. 5, 1, 1, 1, 1, 1); they must add up to the number of
	// classes used. Empty means the even split of ExperienceSizes.
	Sizes []int
	// ClassOrder is the order in which classes are assigned to experiences.
	// Nil means 0, 1, ..., C-1 (or a seeded permutation of it when
	// PermuteClasses is set). When given it must be a permutation of a
	// subset of the dataset's classes; classes left out are not used.
	ClassOrder []int
	// PermuteClasses draws the class order with Seed.
	PermuteClasses bool
	Seed           uint64
	// Scenario is ClassIncremental (zero value), TaskIncremental (each
	// experience its own task, outputs masked to its classes) or
	// DomainIncremental: the classes of each experience are relabelled
	// 0, 1, ... in class order, so every experience shares one small label
	// space (Split-MNIST's "domain-IL": first or second digit of the pair).
	Scenario Scenario
}

func (c SplitConfig) experiences() int {
	switch {
	case c.NumExperiences != 0:
		return c.NumExperiences
	case len(c.Sizes) > 0:
		return len(c.Sizes)
	}
	return 5
}

// Validate checks the configuration against a dataset with numClasses
// classes.
func (c SplitConfig) Validate(numClasses int) error {
	n := c.experiences()
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
	if len(c.Sizes) > 0 {
		if len(c.Sizes) != n {
			return fmt.Errorf("streams: %d experience sizes %v for %d experiences", len(c.Sizes), c.Sizes, n)
		}
		sum := 0
		for _, s := range c.Sizes {
			if s < 1 {
				return fmt.Errorf("streams: experience sizes %v: every experience needs at least one class", c.Sizes)
			}
			sum += s
		}
		if sum != classes {
			return fmt.Errorf("streams: experience sizes %v add up to %d classes, want %d", c.Sizes, sum, classes)
		}
	}
	if n > classes {
		return fmt.Errorf("streams: %d experiences for %d classes: at most one experience per class", n, classes)
	}
	switch c.Scenario {
	case "", ClassIncremental, TaskIncremental, DomainIncremental:
	default:
		return fmt.Errorf("streams: unknown scenario %q", c.Scenario)
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

// classOrder returns the order in which c assigns the classes of a
// dataset with nc classes: cfg.ClassOrder, 0..nc-1, or a permutation of it
// drawn with NewRand(cfg.Seed, RandStream).
func (c SplitConfig) classOrder(nc int) []int {
	if c.ClassOrder != nil {
		return c.ClassOrder
	}
	order := make([]int, nc)
	for i := range order {
		order[i] = i
	}
	if c.PermuteClasses {
		p32 := make([]int32, nc)
		for i := range p32 {
			p32[i] = int32(i)
		}
		Shuffle(NewRand(c.Seed, RandStream), p32)
		for i, v := range p32 {
			order[i] = int(v)
		}
	}
	return order
}

// SplitClasses cuts the classes of a train/test pair into experiences: the
// class-incremental (or task- or domain-incremental) split used by
// Split-MNIST. Experience k gets the next Sizes[k] classes of the class
// order (ExperienceSizes when Sizes is empty); within an experience,
// samples keep dataset order.
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
	n := cfg.experiences()
	order := cfg.classOrder(nc)
	sizes := cfg.Sizes
	if len(sizes) == 0 {
		sizes = ExperienceSizes(len(order), n)
	}
	scen := cfg.Scenario
	if scen == "" {
		scen = ClassIncremental
	}
	expOf := make([]int, nc) // class -> experience index, -1 unused
	for i := range expOf {
		expOf[i] = -1
	}
	if ShapeOf(p.Train) != ShapeOf(p.Test) {
		return nil, fmt.Errorf("streams: train samples have shape %v, test %v", ShapeOf(p.Train), ShapeOf(p.Test))
	}
	s := &Stream{Name: cfg.Name, Scenario: scen, NumClasses: nc, InputDim: p.Train.Dim(), InputShape: ShapeOf(p.Train)}
	if scen == DomainIncremental {
		s.NumClasses = slices.Max(sizes)
	}
	at := 0
	for e, size := range sizes {
		ex := &Experience{ID: e + 1, Task: e}
		group := order[at : at+size]
		names := make([]string, len(group))
		for i, k := range group {
			expOf[k] = e
			names[i] = className(p.Train, k)
		}
		ex.Name = "classes " + strings.Join(names, ",")
		if scen == DomainIncremental {
			// Class group[i] becomes label i.
			lab := make([]int32, nc)
			for i := range lab {
				lab[i] = -1
			}
			for i, k := range group {
				lab[k] = int32(i)
				ex.Classes = append(ex.Classes, int32(i))
			}
			ex.Train.Labels, ex.Test.Labels = lab, lab
			ex.Name += fmt.Sprintf(" as 0..%d", size-1)
		} else {
			for _, k := range group {
				ex.Classes = append(ex.Classes, int32(k))
			}
			slices.Sort(ex.Classes)
		}
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

// className returns the name of class k of d, or its number.
func className(d *datasets.Dataset, k int) string {
	if k < len(d.ClassNames) {
		return d.ClassNames[k]
	}
	return strconv.Itoa(k)
}
