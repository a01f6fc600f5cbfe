package datasets

import (
	"errors"
	"fmt"
	"math"
)

// Dataset is labelled data with no continual-learning concepts.
//
// Exactly one of Pixels and Features holds the samples: N×Dim values,
// row-major, sample i at [i*Dim, (i+1)*Dim). A Dataset is read-only once
// built and safe for concurrent readers.
type Dataset struct {
	Name       string    // e.g. "mnist/train"
	Shape      []int     // per-sample shape, e.g. [28 28]; Dim is its product
	Pixels     []uint8   // N*Dim pixels, scaled by 1/255 by Gather; nil when Features is used
	Features   []float32 // N*Dim features for tabular data, copied as is by Gather; nil when Pixels is used
	Labels     []int32   // N labels in [0, NumClasses)
	NumClasses int       // number of classes, ≥ 1
	ClassNames []string  // optional; when set, len(ClassNames) == NumClasses
	// Tasks optionally assigns each sample a task (or domain) in
	// [0, NumTasks), from a table's task column; nil when there is none.
	Tasks []int32
	// TaskNames names the tasks, len(TaskNames) == NumTasks when Tasks is
	// set (the task column's values).
	TaskNames []string
}

// NumTasks returns the number of tasks, len(TaskNames), or 0 without Tasks.
func (d *Dataset) NumTasks() int {
	if d.Tasks == nil {
		return 0
	}
	return len(d.TaskNames)
}

// Pair is the two splits of a benchmark dataset.
type Pair struct {
	Train, Test *Dataset
}

// pixelScale[p] is float32(p)/255, an IEEE single-precision division like
// PyTorch's CPU kernel for uint8_tensor.float().div_(255) (not a multiply by
// the reciprocal, which differs in the last bit for some p).
var pixelScale = func() (t [256]float32) {
	for i := range t {
		t[i] = float32(i) / 255
	}
	return t
}()

// PixelValue returns the float32 value Gather writes for pixel p: float32(p)/255.
func PixelValue(p uint8) float32 { return pixelScale[p] }

// Len returns the number of samples, len(d.Labels).
func (d *Dataset) Len() int { return len(d.Labels) }

// Dim returns the number of values per sample, the product of Shape; 0 when
// Shape is empty.
func (d *Dataset) Dim() int {
	if len(d.Shape) == 0 {
		return 0
	}
	n := 1
	for _, s := range d.Shape {
		n *= s
	}
	return n
}

// Gather writes sample idx[i] as row i of dst (len(dst) ≥ len(idx)*Dim), as
// float32: pixels p become float32(p)/255, features are copied. When ys is
// not nil it receives the labels (len(ys) ≥ len(idx)). Gather does not
// allocate. It panics when dst or ys is too short or an index is out of
// range.
func (d *Dataset) Gather(dst []float32, ys []int32, idx []int32) {
	dim := d.Dim()
	if len(dst) < len(idx)*dim {
		panic(fmt.Sprintf("datasets: Gather: len(dst) = %d < len(idx)*Dim = %d*%d", len(dst), len(idx), dim))
	}
	if ys != nil && len(ys) < len(idx) {
		panic(fmt.Sprintf("datasets: Gather: len(ys) = %d < len(idx) = %d", len(ys), len(idx)))
	}
	switch {
	case d.Pixels != nil:
		px := d.Pixels
		for i, j := range idx {
			src := px[int(j)*dim : int(j)*dim+dim]
			row := dst[i*dim : i*dim+dim]
			row = row[:len(src)] // lets the compiler drop the bounds check below
			for k, p := range src {
				row[k] = pixelScale[p]
			}
		}
	case d.Features != nil:
		for i, j := range idx {
			copy(dst[i*dim:i*dim+dim], d.Features[int(j)*dim:int(j)*dim+dim])
		}
	case len(idx) > 0 && dim > 0:
		panic("datasets: Gather: dataset " + d.Name + " has neither Pixels nor Features")
	}
	if ys != nil {
		labels := d.Labels
		for i, j := range idx {
			ys[i] = labels[j]
		}
	}
}

// ClassCounts returns the number of samples of each class, indexed by label
// (length NumClasses). Labels outside [0, NumClasses) are not counted;
// Validate reports them.
func (d *Dataset) ClassCounts() []int {
	counts := make([]int, max(d.NumClasses, 0))
	for _, y := range d.Labels {
		if y >= 0 && int(y) < len(counts) {
			counts[y]++
		}
	}
	return counts
}

// Validate checks that the fields are consistent: a non-empty Shape of
// positive sizes, exactly one of Pixels and Features with N*Dim values,
// finite features, NumClasses ≥ 1, labels in [0, NumClasses) and ClassNames
// empty or of length NumClasses.
func (d *Dataset) Validate() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("datasets: dataset %q: %s: %w", d.Name, fmt.Sprintf(format, args...), ErrCorrupt)
	}
	if len(d.Shape) == 0 {
		return bad("Shape is empty")
	}
	dim := 1
	for i, s := range d.Shape {
		if s <= 0 {
			return bad("Shape[%d] = %d, want > 0", i, s)
		}
		if dim > math.MaxInt/s {
			return bad("Shape %v overflows int", d.Shape)
		}
		dim *= s
	}
	n := len(d.Labels)
	if n > 0 && dim > math.MaxInt/n {
		return bad("%d samples of %d values overflow int", n, dim)
	}
	switch {
	case d.Pixels != nil && d.Features != nil:
		return bad("both Pixels and Features are set; want exactly one")
	case d.Pixels != nil:
		if len(d.Pixels) != n*dim {
			return bad("len(Pixels) = %d, want %d samples × %d = %d", len(d.Pixels), n, dim, n*dim)
		}
	case d.Features != nil:
		if len(d.Features) != n*dim {
			return bad("len(Features) = %d, want %d samples × %d = %d", len(d.Features), n, dim, n*dim)
		}
		for i, f := range d.Features {
			if math.IsNaN(float64(f)) || math.IsInf(float64(f), 0) {
				return bad("Features[%d] (sample %d) is %v", i, i/dim, f)
			}
		}
	default:
		if n > 0 {
			return bad("neither Pixels nor Features is set")
		}
	}
	if d.NumClasses < 1 {
		return bad("NumClasses = %d, want ≥ 1", d.NumClasses)
	}
	for i, y := range d.Labels {
		if y < 0 || int(y) >= d.NumClasses {
			return bad("label %d at index %d out of range [0, %d)", y, i, d.NumClasses)
		}
	}
	if d.ClassNames != nil && len(d.ClassNames) != d.NumClasses {
		return bad("len(ClassNames) = %d, want NumClasses = %d", len(d.ClassNames), d.NumClasses)
	}
	if d.Tasks != nil {
		if len(d.Tasks) != n {
			return bad("len(Tasks) = %d, want %d samples", len(d.Tasks), n)
		}
		for i, k := range d.Tasks {
			if k < 0 || int(k) >= len(d.TaskNames) {
				return bad("task %d at index %d out of range [0, %d)", k, i, len(d.TaskNames))
			}
		}
	}
	return nil
}

// Validate validates both splits and checks that they agree on Shape,
// NumClasses and ClassNames.
func (p Pair) Validate() error {
	if p.Train == nil || p.Test == nil {
		return errors.New("datasets: Pair: Train and Test must both be set")
	}
	if err := p.Train.Validate(); err != nil {
		return err
	}
	if err := p.Test.Validate(); err != nil {
		return err
	}
	if !equalInts(p.Train.Shape, p.Test.Shape) {
		return fmt.Errorf("datasets: %q has shape %v but %q has %v: %w", p.Train.Name, p.Train.Shape, p.Test.Name, p.Test.Shape, ErrCorrupt)
	}
	if p.Train.NumClasses != p.Test.NumClasses {
		return fmt.Errorf("datasets: %q has %d classes but %q has %d: %w", p.Train.Name, p.Train.NumClasses, p.Test.Name, p.Test.NumClasses, ErrCorrupt)
	}
	return nil
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func shapeString(s []int) string {
	out := ""
	for i, v := range s {
		if i > 0 {
			out += "x"
		}
		out += fmt.Sprint(v)
	}
	return out
}
