package streams

import (
	"fmt"
	"strings"

	"github.com/cleval/cleval/datasets"
)

// Domain is the data of one experience of a stream whose experiences each
// hold a whole dataset: its train/test pair and a transformation applied
// to both when samples are gathered.
type Domain struct {
	// Name describes the experience, e.g. "rotate 80°".
	Name string
	Data datasets.Pair
	// Map transforms every sample (nil: none). It is applied at gather
	// time, so domains sharing Data share its memory.
	Map *datasets.PixelMap
}

// Domains builds a stream whose experience k holds every sample of
// domains[k-1]. The scenario decides the label space:
//
//   - DomainIncremental (the default): labels are kept; every domain must
//     have the same number of classes, the stream has that many.
//   - ClassIncremental: the labels of domain k are offset by the classes of
//     domains 1..k-1 (permuted MNIST with 10 experiences becomes a 100-way
//     problem with one head).
//   - TaskIncremental: the same offsets, and each experience's task masks
//     the output to its own classes (one head per task).
func Domains(name string, scenario Scenario, domains []Domain) (*Stream, error) {
	if len(domains) == 0 {
		return nil, fmt.Errorf("streams: %s: no domains", name)
	}
	if scenario == "" {
		scenario = DomainIncremental
	}
	parts := make([]*Stream, len(domains))
	for i, d := range domains {
		if d.Data.Train == nil || d.Data.Test == nil {
			return nil, fmt.Errorf("streams: %s: domain %d has no data", name, i+1)
		}
		if d.Data.Train.NumClasses != d.Data.Test.NumClasses || d.Data.Train.Dim() != d.Data.Test.Dim() {
			return nil, fmt.Errorf("streams: %s: domain %d: train and test splits differ in classes or sample size", name, i+1)
		}
		if d.Map != nil && d.Map.Dim != d.Data.Train.Dim() {
			return nil, fmt.Errorf("streams: %s: domain %d: transformation %q of %d values for samples of %d", name, i+1, d.Map.Name, d.Map.Dim, d.Data.Train.Dim())
		}
		e := &Experience{ID: 1, Name: d.Name,
			Train: View{Data: d.Data.Train, Index: allIndex(d.Data.Train), Map: d.Map},
			Test:  View{Data: d.Data.Test, Index: allIndex(d.Data.Test), Map: d.Map},
		}
		if e.Name == "" {
			e.Name = d.Data.Train.Name
		}
		for c, n := range d.Data.Train.ClassCounts() {
			if n > 0 {
				e.Classes = append(e.Classes, int32(c))
			}
		}
		parts[i] = &Stream{Name: name, Scenario: DomainIncremental, NumClasses: d.Data.Train.NumClasses,
			InputDim: d.Data.Train.Dim(), InputShape: ShapeOf(d.Data.Train), Experiences: []*Experience{e}}
	}
	return Concat(name, scenario, parts...)
}

// allIndex returns 0..d.Len()-1.
func allIndex(d *datasets.Dataset) []int32 {
	idx := make([]int32, d.Len())
	for i := range idx {
		idx[i] = int32(i)
	}
	return idx
}

// PermutedConfig describes a permuted stream (Permuted MNIST).
type PermutedConfig struct {
	Name string
	// NumExperiences is the number of permutations, >= 1; 0 means 5.
	NumExperiences int
	// IdentityFirst leaves experience 1 unpermuted (as in van de Ven's
	// code); otherwise every experience has its own random permutation
	// (as Avalanche's PermutedMNIST).
	IdentityFirst bool
	// Seed draws the permutations (NewRand(Seed, RandPermutation)).
	Seed     uint64
	Scenario Scenario
}

// Permuted returns a stream whose experiences hold the whole dataset under
// a different seeded permutation of the sample's values each: the pixel
// permutations of Permuted MNIST. They are applied at gather time. On
// images of several channels (C×H×W, C > 1) the permutation moves pixel
// positions: one permutation of the H·W positions, the same in every
// channel (datasets.RandomImagePermutationMap), so the colour values of a
// pixel stay together; on one channel, and on flat features, it permutes
// every value. The stream keeps the dataset's shape.
func Permuted(p datasets.Pair, cfg PermutedConfig) (*Stream, error) {
	n := cfg.NumExperiences
	if n == 0 {
		n = 5
	}
	if n < 1 {
		return nil, fmt.Errorf("streams: number of experiences %d: must be positive", n)
	}
	rng := NewRand(cfg.Seed, RandPermutation)
	doms := make([]Domain, n)
	for k := range doms {
		doms[k] = Domain{Name: "identity", Data: p}
		if k > 0 || !cfg.IdentityFirst {
			name := fmt.Sprintf("permutation %d", k+1)
			doms[k].Name = name
			c, h, w := p.Train.CHW()
			doms[k].Map = datasets.RandomImagePermutationMap(name, c, h*w, rng)
		}
	}
	return Domains(cfg.Name, cfg.Scenario, doms)
}

// ImageSize returns the channels, height and width of d's samples when
// they are images: Shape [h, w] (one channel) or [c, h, w]; ok is false
// for other shapes (flat features).
func ImageSize(d *datasets.Dataset) (c, h, w int, ok bool) {
	if n := len(d.Shape); n != 2 && n != 3 {
		return 0, 0, 0, false
	}
	c, h, w = d.CHW()
	return c, h, w, true
}

// Rotated returns a stream whose experience k holds the whole dataset
// rotated by angles[k-1] degrees counter-clockwise (bilinear, zero padding;
// datasets.RotationMapCHW: every channel alike), applied at gather time. A
// rotation by 0° is no transformation at all. The samples must be images:
// Shape [h, w] or [c, h, w].
func Rotated(p datasets.Pair, name string, angles []float64, scenario Scenario) (*Stream, error) {
	c, h, w, ok := ImageSize(p.Train)
	if !ok {
		return nil, fmt.Errorf("streams: %s: samples of shape %v cannot be rotated: want images of shape [h, w] or [c, h, w] (set the data's image shape)", name, p.Train.Shape)
	}
	if len(angles) == 0 {
		return nil, fmt.Errorf("streams: %s: no angles", name)
	}
	doms := make([]Domain, len(angles))
	for k, a := range angles {
		doms[k] = Domain{Name: fmt.Sprintf("rotate %g°", a), Data: p}
		if a != 0 {
			doms[k].Map = datasets.RotationMapCHW(c, h, w, a)
		}
	}
	return Domains(name, scenario, doms)
}

// Concat chains streams into one, renumbering the experiences (task k-1
// for experience k). With DomainIncremental the label spaces are shared
// (the stream has the largest of them); with ClassIncremental and
// TaskIncremental the labels of each stream are offset by the classes of
// the streams before it, and TaskIncremental masks each experience's
// output to its classes. MNIST followed by Fashion-MNIST is Concat of two
// splits. The views keep their datasets and transformations; the streams
// passed in are not modified.
func Concat(name string, scenario Scenario, parts ...*Stream) (*Stream, error) {
	if len(parts) == 0 {
		return nil, fmt.Errorf("streams: %s: nothing to concatenate", name)
	}
	switch scenario {
	case "":
		scenario = ClassIncremental
	case ClassIncremental, TaskIncremental, DomainIncremental:
	default:
		return nil, fmt.Errorf("streams: unknown scenario %q", scenario)
	}
	s := &Stream{Name: name, Scenario: scenario, InputDim: parts[0].InputDim, InputShape: parts[0].InputShape}
	offset := 0
	for i, part := range parts {
		if part.InputDim != s.InputDim {
			return nil, fmt.Errorf("streams: %s: part %d has samples of %d values, part 1 of %d", name, i+1, part.InputDim, s.InputDim)
		}
		if part.Shape() != parts[0].Shape() {
			return nil, fmt.Errorf("streams: %s: part %d has samples of shape %v, part 1 of %v", name, i+1, part.Shape(), parts[0].Shape())
		}
		if scenario == DomainIncremental && i > 0 && part.NumClasses != parts[0].NumClasses {
			return nil, fmt.Errorf("streams: %s: a domain-incremental stream needs one label space, but part %d has %d classes and part 1 %d", name, i+1, part.NumClasses, parts[0].NumClasses)
		}
		off := int32(offset)
		if scenario == DomainIncremental {
			off = 0
		}
		for _, e := range part.Experiences {
			ne := &Experience{
				ID:    len(s.Experiences) + 1,
				Task:  len(s.Experiences),
				Name:  e.Name,
				Train: e.Train.offset(off),
				Test:  e.Test.offset(off),
				Valid: e.Valid.offset(off),
			}
			for _, c := range e.Classes {
				ne.Classes = append(ne.Classes, c+off)
			}
			s.Experiences = append(s.Experiences, ne)
		}
		offset += part.NumClasses
		s.NumClasses = max(s.NumClasses, part.NumClasses)
	}
	if scenario != DomainIncremental {
		s.NumClasses = offset
	}
	s.SetTaskMasks()
	if err := s.Validate(); err != nil {
		return nil, err
	}
	return s, nil
}

// offset returns v with every label increased by off.
func (v View) offset(off int32) View {
	if off == 0 || v.Data == nil {
		return v
	}
	lab := make([]int32, v.Data.NumClasses)
	for c := range lab {
		y := int32(c)
		if v.Labels != nil {
			y = v.Labels[c]
		}
		if y >= 0 {
			y += off
		}
		lab[c] = y
	}
	v.Labels = lab
	return v
}

// ByTaskConfig describes a stream cut along a dataset's task column.
type ByTaskConfig struct {
	Name string
	// NumExperiences, when not 0, must equal the number of tasks.
	NumExperiences int
	// Scenario is DomainIncremental (the default) or ClassIncremental
	// (labels are kept either way: the two differ only in name), or
	// TaskIncremental (outputs masked to each task's classes).
	Scenario Scenario
}

// ByTask returns the stream whose experience k holds the samples of task
// k-1 of the dataset (Dataset.Tasks, from a table's task column), in task
// order. Labels are kept.
func ByTask(p datasets.Pair, cfg ByTaskConfig) (*Stream, error) {
	if p.Train.Tasks == nil || p.Test.Tasks == nil {
		return nil, fmt.Errorf("streams: %s: the data has no task column", cfg.Name)
	}
	nt := p.Train.NumTasks()
	if cfg.NumExperiences != 0 && cfg.NumExperiences != nt {
		return nil, fmt.Errorf("streams: %s: %d experiences requested, but the data has %d tasks (%s)", cfg.Name, cfg.NumExperiences, nt, strings.Join(p.Train.TaskNames, ", "))
	}
	scen := cfg.Scenario
	if scen == "" {
		scen = DomainIncremental
	}
	s := &Stream{Name: cfg.Name, Scenario: scen, NumClasses: p.Train.NumClasses, InputDim: p.Train.Dim(), InputShape: ShapeOf(p.Train)}
	for k := range nt {
		s.Experiences = append(s.Experiences, &Experience{ID: k + 1, Task: k, Name: "task " + p.Train.TaskNames[k],
			Train: View{Data: p.Train}, Test: View{Data: p.Test}})
	}
	for i, k := range p.Train.Tasks {
		e := s.Experiences[k]
		e.Train.Index = append(e.Train.Index, int32(i))
	}
	for i, k := range p.Test.Tasks {
		e := s.Experiences[k]
		e.Test.Index = append(e.Test.Index, int32(i))
	}
	for _, e := range s.Experiences {
		seen := make([]bool, s.NumClasses)
		for _, i := range e.Train.Index {
			seen[p.Train.Labels[i]] = true
		}
		for c, ok := range seen {
			if ok {
				e.Classes = append(e.Classes, int32(c))
			}
		}
		if len(e.Test.Index) > 0 && scen == TaskIncremental {
			for _, i := range e.Test.Index {
				if y := p.Test.Labels[i]; !seen[y] {
					return nil, fmt.Errorf("streams: %s: %s: test sample %d has class %d, which the task's training samples do not have (task-incremental outputs are masked to them)", cfg.Name, e.Name, i, y)
				}
			}
		}
	}
	s.SetTaskMasks()
	if err := s.Validate(); err != nil {
		return nil, err
	}
	return s, nil
}
