package datasets

import (
	"fmt"
	"strconv"
	"strings"
)

// CHW returns the shape of d's samples as images of c channels of h×w
// values, stored channel by channel and row by row (the layout of PyTorch
// and of the CIFAR files):
//
//   - Shape [C, H, W] is C×H×W (CIFAR: 3×32×32);
//   - Shape [H, W] is 1×H×W (MNIST's IDX files: 1×28×28);
//   - Shape [N], or any shape of more than three dimensions, is the flat
//     vector 1×1×N (N = Dim).
//
// c·h·w is always Dim. An empty Shape gives 0, 0, 0.
func (d *Dataset) CHW() (c, h, w int) { return ShapeCHW(d.Shape) }

// ShapeCHW interprets a per-sample shape as channels, height and width,
// as Dataset.CHW does.
func ShapeCHW(s []int) (c, h, w int) {
	switch len(s) {
	case 0:
		return 0, 0, 0
	case 2:
		return 1, s[0], s[1]
	case 3:
		return s[0], s[1], s[2]
	}
	return 1, 1, prod(s)
}

// ParseShape parses a shape written "3x32x32" or "3,32,32" (spaces
// allowed, "×" accepted for "x"): one or more sizes, each ≥ 1.
func ParseShape(s string) ([]int, error) {
	s = strings.NewReplacer("×", "x", ",", "x", "X", "x").Replace(strings.TrimSpace(s))
	if s == "" {
		return nil, fmt.Errorf("datasets: empty shape")
	}
	parts := strings.Split(s, "x")
	out := make([]int, len(parts))
	for i, p := range parts {
		v, err := strconv.Atoi(strings.TrimSpace(p))
		if err != nil || v < 1 {
			return nil, fmt.Errorf("datasets: shape %q: size %q is not an integer >= 1 (want e.g. 3x32x32)", s, strings.TrimSpace(p))
		}
		out[i] = v
	}
	return out, nil
}

// sampleShape returns the per-sample shape the options declare for dim
// feature values: ImageShape (C, H, W), Shape, or [dim] when neither is
// set. The error names the key and says how many values it holds.
func (o TableOptions) sampleShape(dim int) ([]int, error) {
	switch {
	case len(o.ImageShape) > 0:
		if p := prod(o.ImageShape); p != dim {
			return nil, fmt.Errorf("image_shape %s holds %d values, but the samples have %d features", shapeString(o.ImageShape), p, dim)
		}
		return o.ImageShape, nil
	case len(o.Shape) > 0:
		if p := prod(o.Shape); p != dim {
			return nil, fmt.Errorf("shape %v holds %d values, but the samples have %d features", o.Shape, p, dim)
		}
		return o.Shape, nil
	}
	return []int{dim}, nil
}
