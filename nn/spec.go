package nn

import (
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"
)

// Shape is the shape of one input sample: C channels of H×W values, stored
// channel by channel, row by row (PyTorch's CHW order). Flat feature
// vectors are C = 1, H = 1, W = the number of features.
type Shape struct {
	C int `json:"c"`
	H int `json:"h"`
	W int `json:"w"`
}

// Dim returns the number of values of a sample, C·H·W.
func (s Shape) Dim() int { return s.C * s.H * s.W }

// String formats the shape as C×H×W.
func (s Shape) String() string { return fmt.Sprintf("%d×%d×%d", s.C, s.H, s.W) }

// Flat returns the shape of a flat vector of n values.
func Flat(n int) Shape { return Shape{C: 1, H: 1, W: n} }

// Spec describes a model: its architecture, its input and its output. The
// fields an architecture does not use must be zero.
type Spec struct {
	// Arch names the architecture (see Archs): "mlp".
	Arch string
	// Input is the shape of a sample; Classes the number of outputs.
	Input   Shape
	Classes int
	// Hidden are the hidden-layer sizes of an MLP.
	Hidden []int
	// NF is the width of the architectures that have one (Arch.Width):
	// for the reduced ResNet-18 ("resnet18r") and Dual-Arch's Sta-Net
	// ("resnet18r-sta") the channels of the first stage (the others
	// have 2·NF, 4·NF, 8·NF); for the Pla-Net ("resnet18r-pla") the width
	// of the Sta-Net it is paired with. Zero means the default, 20; the
	// model's Spec reports the value used.
	NF int `json:"nf,omitempty"`
}

// Arch is a registered architecture.
type Arch struct {
	// Name is the name Spec.Arch uses; Summary describes it in one line.
	Name, Summary string
	// Width says that the architecture takes a width, Spec.NF (zero
	// meaning DefaultNF); the others refuse a nonzero NF.
	Width bool
	// New builds the model (parameters not initialised: call Init).
	New func(spec Spec, c *Compute) (Model, error)
	// Check says whether spec describes a model New can build, and its
	// footprint, without allocating it.
	Check func(spec Spec) (Footprint, error)
}

// Footprint is the size of a model, known before it is built.
type Footprint struct {
	// Params and State are the lengths of the parameter and state
	// arenas.
	Params, State int64
	// RowValues estimates the float32 values a training workspace keeps
	// per row of a batch (activations and their gradients).
	RowValues int64
}

var archs = map[string]Arch{}

// RegisterArch makes an architecture available by name; it panics on a
// duplicate or empty name.
func RegisterArch(a Arch) {
	if a.Name == "" || a.New == nil || a.Check == nil {
		panic("nn: RegisterArch needs a name, a constructor and a check")
	}
	if _, dup := archs[a.Name]; dup {
		panic("nn: architecture " + a.Name + " registered twice")
	}
	archs[a.Name] = a
}

// Archs returns the registered architectures, sorted by name.
func Archs() []Arch {
	out := make([]Arch, 0, len(archs))
	for _, a := range archs {
		out = append(out, a)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// HasWidth reports whether the registered architecture arch takes a
// width (Spec.NF).
func HasWidth(arch string) bool { return archs[arch].Width }

// New builds the model spec describes, computing with c (nil: the
// single-threaded reference engine). Its parameters are zero: call Init.
func New(spec Spec, c *Compute) (Model, error) {
	a, err := lookupArch(spec)
	if err != nil {
		return nil, err
	}
	if _, err := a.Check(spec); err != nil {
		return nil, err
	}
	if c == nil {
		c = reference
	}
	return a.New(spec, c)
}

// Check says whether spec describes a model New can build (a known
// architecture that fits its input), and the model's footprint, without
// building it: what callers check before they allocate.
func Check(spec Spec) (Footprint, error) {
	a, err := lookupArch(spec)
	if err != nil {
		return Footprint{}, err
	}
	return a.Check(spec)
}

// lookupArch returns the architecture of spec after the checks every
// architecture shares.
func lookupArch(spec Spec) (Arch, error) {
	a, ok := archs[spec.Arch]
	if !ok {
		names := make([]string, 0, len(archs))
		for n := range archs {
			names = append(names, n)
		}
		slices.Sort(names)
		return Arch{}, fmt.Errorf("nn: unknown model %q (known: %s)", spec.Arch, strings.Join(names, ", "))
	}
	if spec.Input.C <= 0 || spec.Input.H <= 0 || spec.Input.W <= 0 {
		return Arch{}, fmt.Errorf("nn: model %s: input shape %v: every dimension must be >= 1", spec.Arch, spec.Input)
	}
	if spec.Classes < 1 {
		return Arch{}, fmt.Errorf("nn: model %s: %d classes: must be >= 1", spec.Arch, spec.Classes)
	}
	return a, nil
}

func init() {
	RegisterArch(Arch{
		Name:    "mlp",
		Summary: "multilayer perceptron: the input flattened, hidden layers with ReLU, a linear head",
		Check:   checkMLP,
		New: func(spec Spec, c *Compute) (Model, error) {
			sizes := append([]int{spec.Input.Dim()}, spec.Hidden...)
			m, err := NewMLP(append(sizes, spec.Classes), c)
			if err != nil {
				return nil, err
			}
			m.spec = spec
			m.spec.Hidden = slices.Clone(spec.Hidden)
			return m, nil
		},
	})
}

// checkMLP checks an MLP's spec and counts its arenas: weights and biases
// of every layer, and per row each layer's outputs and their gradients.
func checkMLP(spec Spec) (Footprint, error) {
	if spec.NF != 0 {
		return Footprint{}, fmt.Errorf("nn: model mlp takes no nf (got %d)", spec.NF)
	}
	var f Footprint
	prev := int64(spec.Input.Dim())
	for _, w := range append(slices.Clone(spec.Hidden), spec.Classes) {
		if w <= 0 {
			return Footprint{}, fmt.Errorf("nn: layer sizes must be positive, got %v", spec.Hidden)
		}
		f.Params = satAdd(f.Params, satMul(prev+1, int64(w)))
		f.RowValues = satAdd(f.RowValues, 2*int64(w))
		prev = int64(w)
	}
	return f, nil
}

// satAdd and satMul are addition and multiplication of non-negative
// counts that saturate at the largest int64 instead of overflowing.
func satAdd(a, b int64) int64 {
	if a > math.MaxInt64-b {
		return math.MaxInt64
	}
	return a + b
}

func satMul(a, b int64) int64 {
	if a != 0 && b > math.MaxInt64/a {
		return math.MaxInt64
	}
	return a * b
}
