package streams

import (
	"fmt"
	"math/rand/v2"

	"github.com/cleval/cleval/datasets"
)

// Scenario is the continual-learning setting of a stream.
type Scenario string

const (
	// ClassIncremental: one output head over all classes; experiences bring
	// new classes and no task label is given at test time.
	ClassIncremental Scenario = "class-incremental"
	// TaskIncremental: each experience has a task label and the model's
	// output is restricted to that task's classes in training and evaluation.
	TaskIncremental Scenario = "task-incremental"
	// DomainIncremental: the label space stays the same, the input
	// distribution shifts.
	DomainIncremental Scenario = "domain-incremental"
)

// View is a subset of a dataset: the samples Data[Index[i]], optionally
// transformed and relabelled. Views are values; the slices and the map are
// shared and read-only.
type View struct {
	Data  *datasets.Dataset
	Index []int32
	// Map, when not nil, transforms every sample when it is gathered (the
	// pixel permutation or rotation of a domain-incremental experience).
	// The dataset itself is never copied or changed.
	Map *datasets.PixelMap
	// Labels, when not nil, maps the dataset's labels to the stream's:
	// a sample of dataset class c has stream label Labels[c] (label
	// offsets of concatenated streams, within-experience labels of
	// domain-incremental splits).
	Labels []int32
	// Norm, when not nil, normalises the gathered values per channel,
	// after Map.
	Norm *Normalization
}

// Len returns the number of samples in the view.
func (v View) Len() int { return len(v.Index) }

// Gather writes the samples at positions pos (indices into v.Index) into dst
// as float32 rows, transformed by v.Map and normalised by v.Norm, and their
// stream labels into ys
// (when ys is not nil). It does not allocate once scratch has capacity
// len(pos); scratch may be nil, in which case a slice is allocated.
func (v View) Gather(dst []float32, ys []int32, pos []int32, scratch []int32) []int32 {
	if cap(scratch) < len(pos) {
		scratch = make([]int32, len(pos))
	}
	scratch = scratch[:len(pos)]
	for i, p := range pos {
		scratch[i] = v.Index[p]
	}
	v.Data.GatherMapped(dst, ys, scratch, v.Map)
	if v.Norm != nil {
		dim := v.Data.Dim()
		c, _, _ := v.Data.CHW()
		v.Norm.apply(dst[:len(pos)*dim], dim, c)
	}
	if ys != nil && v.Labels != nil {
		for i := range pos {
			ys[i] = v.Labels[ys[i]]
		}
	}
	return scratch
}

// Label returns the stream label of the sample at position p of the view.
func (v View) Label(p int32) int32 {
	y := v.Data.Labels[v.Index[p]]
	if v.Labels != nil {
		return v.Labels[y]
	}
	return y
}

// Experience is one step of a stream.
type Experience struct {
	// ID is the 1-based position in the stream.
	ID int
	// Classes are the classes present in the experience, ascending.
	Classes []int32
	// Task is the task label (0-based); meaningful in task-incremental
	// streams, equal to ID-1 otherwise.
	Task int
	// Name describes the experience's data, e.g. "classes 0,1" or
	// "rotate 80°" (informative).
	Name string
	// Train and Test are the experience's samples.
	Train, Test View
	// Valid holds training samples held out as the continual-evaluation
	// set (HoldOut); empty otherwise. They are not in Train.
	Valid View
}

// Stream is a sequence of experiences over one label space.
type Stream struct {
	// Name identifies the benchmark, e.g. "split-mnist".
	Name       string
	Scenario   Scenario
	NumClasses int
	// InputDim is the number of values of a sample, InputShape.Dim().
	InputDim int
	// InputShape is the shape of a sample (C×H×W; 1×1×InputDim for flat
	// features). The generators set it from the dataset
	// (datasets.Dataset.CHW); Shape returns it, or the flat shape when a
	// stream built by hand leaves it zero.
	InputShape  Shape
	Experiences []*Experience
	// TaskMasks[t] marks the classes of task t in task-incremental streams
	// (nil otherwise); see Mask.
	TaskMasks [][]bool
}

// Mask returns the output mask of task t: in a task-incremental stream the
// model's output is restricted to the task's classes in training and
// evaluation; in other scenarios it is nil (all classes). The slice is
// shared: do not modify it.
func (s *Stream) Mask(task int) []bool {
	if s.Scenario != TaskIncremental || task < 0 || task >= len(s.TaskMasks) {
		return nil
	}
	return s.TaskMasks[task]
}

// SetTaskMasks fills TaskMasks from the experiences' tasks and classes.
func (s *Stream) SetTaskMasks() {
	s.TaskMasks = nil
	if s.Scenario != TaskIncremental {
		return
	}
	for _, e := range s.Experiences {
		for len(s.TaskMasks) <= e.Task {
			s.TaskMasks = append(s.TaskMasks, make([]bool, s.NumClasses))
		}
		for _, c := range e.Classes {
			s.TaskMasks[e.Task][c] = true
		}
	}
}

// Validate checks the stream's internal consistency.
func (s *Stream) Validate() error {
	if len(s.Experiences) == 0 {
		return fmt.Errorf("streams: %s: no experiences", s.Name)
	}
	if s.InputShape != (Shape{}) && s.InputShape.Dim() != s.InputDim {
		return fmt.Errorf("streams: %s: input shape %v holds %d values, but InputDim is %d", s.Name, s.InputShape, s.InputShape.Dim(), s.InputDim)
	}
	for i, e := range s.Experiences {
		if e.ID != i+1 {
			return fmt.Errorf("streams: %s: experience %d has ID %d", s.Name, i+1, e.ID)
		}
		if e.Train.Len() == 0 {
			return fmt.Errorf("streams: %s: experience %d has no training samples", s.Name, e.ID)
		}
		if e.Test.Len() == 0 {
			return fmt.Errorf("streams: %s: experience %d has no test samples", s.Name, e.ID)
		}
	}
	return nil
}

// Batch is a mini-batch of samples gathered as float32.
type Batch struct {
	// X holds N rows of Dim float32 values.
	X []float32
	// Y holds the N labels.
	Y   []int32
	N   int
	Dim int
	// Experience is the ID of the experience the samples were drawn from.
	Experience int
	// Mask is the output mask of the experience's task (Stream.Mask); nil
	// outside task-incremental streams.
	Mask []bool
	// Pos holds the samples' positions in the experience's train view, so a
	// strategy can store references to them (a replay buffer) instead of
	// copies.
	Pos []int32
	// Sources, when not nil, holds the ID of the experience each row comes
	// from (Pos[i] is a position in that experience's train view): blurry
	// boundaries mix the samples of two consecutive experiences in one
	// batch. Nil means every row comes from Experience.
	Sources []int32
	// Repeat is which of the repeated updates on this mini-batch the
	// current Step is, from 0 (online streams use each mini-batch for
	// several consecutive updates). A strategy that stores the incoming
	// samples (a replay buffer updated every step) should do so only when
	// Repeat is 0.
	Repeat int
}

// Loader draws mini-batches from a view in a seeded random order, one epoch
// after another: each epoch is a fresh permutation of the view, cut into
// consecutive batches of BatchSize; the last batch of an epoch may be
// smaller (as a PyTorch DataLoader without drop_last).
type Loader struct {
	view      View
	batchSize int
	rng       *rand.Rand
	perm      []int32
	pos       int
	scratch   []int32
}

// NewLoader returns a loader over v. rng drives the per-epoch shuffles; the
// loader shuffles lazily, at the first batch of each epoch.
func NewLoader(v View, batchSize int, rng *rand.Rand) *Loader {
	if batchSize <= 0 {
		panic("streams: non-positive batch size")
	}
	perm := make([]int32, v.Len())
	for i := range perm {
		perm[i] = int32(i)
	}
	return &Loader{view: v, batchSize: batchSize, rng: rng, perm: perm, pos: len(perm), scratch: make([]int32, batchSize)}
}

// BatchesPerEpoch returns ceil(len(view)/batchSize).
func (l *Loader) BatchesPerEpoch() int {
	return (len(l.perm) + l.batchSize - 1) / l.batchSize
}

// Next fills b with the next batch (b.X and b.Y must have capacity for
// batchSize samples); the last batch of an epoch may be short.
func (l *Loader) Next(b *Batch) {
	if l.pos >= len(l.perm) {
		Shuffle(l.rng, l.perm)
		l.pos = 0
	}
	end := min(l.pos+l.batchSize, len(l.perm))
	pos := l.perm[l.pos:end]
	l.pos = end
	n := len(pos)
	d := l.view.Data.Dim()
	b.N = n
	b.Dim = d
	b.X = b.X[:n*d]
	b.Y = b.Y[:n]
	b.Pos = append(b.Pos[:0], pos...)
	l.scratch = l.view.Gather(b.X, b.Y, pos, l.scratch)
}

// Fill writes the next n samples of the loader's order into rows
// [at, at+n) of b (X, Y and Pos; b.N and b.Dim are left alone), going on
// into the next epoch, freshly shuffled, when this one runs out: unlike
// Next it never yields a short batch. It does not allocate once b.Pos has
// capacity at+n.
func (l *Loader) Fill(b *Batch, at, n int) {
	if len(l.perm) == 0 {
		panic("streams: Loader.Fill on an empty view")
	}
	d := l.view.Data.Dim()
	if cap(b.Pos) < at+n {
		b.Pos = append(b.Pos[:cap(b.Pos)], make([]int32, at+n-cap(b.Pos))...)
	}
	b.Pos = b.Pos[:max(len(b.Pos), at+n)]
	for n > 0 {
		if l.pos >= len(l.perm) {
			Shuffle(l.rng, l.perm)
			l.pos = 0
		}
		m := min(n, len(l.perm)-l.pos)
		pos := l.perm[l.pos : l.pos+m]
		l.pos += m
		copy(b.Pos[at:at+m], pos)
		if cap(l.scratch) < m {
			l.scratch = make([]int32, m)
		}
		l.scratch = l.view.Gather(b.X[at*d:(at+m)*d], b.Y[at:at+m], pos, l.scratch)
		at += m
		n -= m
	}
}

// Shuffle permutes p uniformly with rng (Fisher–Yates, from the end).
func Shuffle(rng *rand.Rand, p []int32) {
	for i := len(p) - 1; i > 0; i-- {
		j := rng.IntN(i + 1)
		p[i], p[j] = p[j], p[i]
	}
}

// NewRand returns the random source for one named purpose of a run: every
// random stream of a run derives from the run seed and a fixed stream
// number, so adding a new consumer never shifts the others.
func NewRand(seed uint64, stream uint64) *rand.Rand {
	return rand.New(rand.NewPCG(seed, stream^0x9e3779b97f4a7c15))
}

// Random stream numbers used by cleval. Strategies get their own.
const (
	RandInit uint64 = iota + 1
	RandShuffle
	RandEvalSubset
	RandStrategy
	RandStream
	// RandPermutation draws the pixel permutations of permuted streams.
	RandPermutation
	// RandValidation draws the held-out validation samples (HoldOut).
	RandValidation
	// RandAugment draws the data augmentation of training batches
	// (CropFlip).
	RandAugment
)
