package streams

import (
	"fmt"

	"github.com/cleval/cleval/datasets"
)

// Shape is the shape of one input sample: C channels of H×W values,
// stored channel by channel, row by row (PyTorch's CHW order). Flat
// feature vectors are C = 1, H = 1, W = the number of features. It has the
// fields of nn.Shape, so nn.Shape(s) converts it.
type Shape struct {
	C int `json:"c"`
	H int `json:"h"`
	W int `json:"w"`
}

// Dim returns the number of values of a sample, C·H·W.
func (s Shape) Dim() int { return s.C * s.H * s.W }

// String formats the shape as C×H×W.
func (s Shape) String() string { return fmt.Sprintf("%d×%d×%d", s.C, s.H, s.W) }

// Flat returns the shape of a flat vector of n values, 1×1×n.
func Flat(n int) Shape { return Shape{C: 1, H: 1, W: n} }

// ShapeOf returns the sample shape of d (datasets.Dataset.CHW): MNIST
// 1×28×28, CIFAR 3×32×32, a table 1×1×features unless it declares an
// image shape.
func ShapeOf(d *datasets.Dataset) Shape {
	c, h, w := d.CHW()
	return Shape{C: c, H: h, W: w}
}

// Shape returns the shape of the stream's samples: InputShape, or the flat
// shape 1×1×InputDim when InputShape is not set (a stream built by hand).
func (s *Stream) Shape() Shape {
	if s.InputShape.Dim() == 0 {
		return Flat(s.InputDim)
	}
	return s.InputShape
}
