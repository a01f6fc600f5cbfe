package nn

import (
	"fmt"
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
}

var archs = map[string]Arch{}

// RegisterArch makes an architecture available by name; it panics on a
// duplicate or empty name.
func RegisterArch(a Arch) {
	if a.Name == "" || a.New == nil {
		panic("nn: RegisterArch needs a name and a constructor")
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
	a, ok := archs[spec.Arch]
	if !ok {
		names := make([]string, 0, len(archs))
		for n := range archs {
			names = append(names, n)
		}
		slices.Sort(names)
		return nil, fmt.Errorf("nn: unknown model %q (known: %s)", spec.Arch, strings.Join(names, ", "))
	}
	if spec.Input.C <= 0 || spec.Input.H <= 0 || spec.Input.W <= 0 {
		return nil, fmt.Errorf("nn: model %s: input shape %v: every dimension must be >= 1", spec.Arch, spec.Input)
	}
	if spec.Classes < 1 {
		return nil, fmt.Errorf("nn: model %s: %d classes: must be >= 1", spec.Arch, spec.Classes)
	}
	if c == nil {
		c = reference
	}
	return a.New(spec, c)
}

func init() {
	RegisterArch(Arch{
		Name:    "mlp",
		Summary: "multilayer perceptron: the input flattened, hidden layers with ReLU, a linear head",
		New: func(spec Spec, c *Compute) (Model, error) {
			if spec.NF != 0 {
				return nil, fmt.Errorf("nn: model mlp takes no nf (got %d)", spec.NF)
			}
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
