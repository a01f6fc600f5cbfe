package nn

import (
	"fmt"
	"math"
)

// The architectures of Dual-Arch (Lu et al., ICML 2025) on the reduced
// ResNet-18: a wide, shallow stable network (Sta-Net) and a deep, thin
// plastic one (Pla-Net) of about the same parameter count, as the authors'
// code builds them from its ResNet-18 (there: depth 10, width 64, the last
// map pooled to 2×2; depth 18, width 42, global pooling).

func init() {
	RegisterArch(Arch{
		Name:  "resnet18r-sta",
		Width: true,
		Summary: "Dual-Arch's Sta-Net on the reduced ResNet-18: resnet18r's width nf (default 20) at half its depth (one BasicBlock per stage), " +
			"the last map average-pooled to 2×2 (adaptive), a linear head on 4·8nf features",
		New:   func(spec Spec, c *Compute) (Model, error) { return buildConvNet(staNetSpec, spec, c) },
		Check: func(spec Spec) (Footprint, error) { return checkConvNet(staNetSpec, spec) },
	})
	RegisterArch(Arch{
		Name:  "resnet18r-pla",
		Width: true,
		Summary: "Dual-Arch's Pla-Net on the reduced ResNet-18: resnet18r's depth with the largest width whose parameter count does not exceed " +
			"that of resnet18r-sta of width nf (default 20) on the same input channels and classes; global average pooling, a linear head",
		New:   func(spec Spec, c *Compute) (Model, error) { return buildConvNet(plaNetSpec, spec, c) },
		Check: func(spec Spec) (Footprint, error) { return checkConvNet(plaNetSpec, spec) },
	})
}

// staSpec describes the Sta-Net of width nf: resnetSpec with one block per
// stage, adaptive pooling to 2×2.
func staSpec(spec Spec, nf int) netSpec { return resnetSpec(spec, nf, 1, 0, 2) }

// plaSpec describes the Pla-Net of width w: resnetSpec with two blocks per
// stage (resnet18r's layers), global average pooling.
func plaSpec(spec Spec, w int) netSpec { return resnetSpec(spec, w, 2, 0, 1) }

// staNetSpec describes "resnet18r-sta", Dual-Arch's stable network:
//
//	conv3×3(in→nf) BN ReLU; four stages of one BasicBlock each (nf, 2nf,
//	4nf, 8nf channels, strides 1, 2, 2, 2, a 1×1 shortcut with BN where
//	the shape changes); adaptive average pooling to 2×2; flatten;
//	Linear(8nf·4 → classes).
//
// The pooling is PyTorch's AdaptiveAvgPool2d((2, 2)), the authors'
// final_size 2: on 28×28 and 32×32 inputs the last map is 4×4 and each
// feature averages a 2×2 window, four times as many features as resnet18r
// gives its head. It fits any input size.
func staNetSpec(spec Spec) (netSpec, error) {
	nf, err := resnetWidth(&spec)
	if err != nil {
		return netSpec{}, err
	}
	return staSpec(spec, nf), nil
}

// plaNetSpec describes "resnet18r-pla", Dual-Arch's plastic network: the
// layers of resnet18r (two BasicBlocks per stage) with the width
// PlaNetWidth derives from spec.NF (the width of the Sta-Net it is paired
// with), global average pooling (AdaptiveAvgPool2d(1), which on 28×28 and
// 32×32 inputs is resnet18r's avg_pool2d(4)) and Linear(8w → classes).
func plaNetSpec(spec Spec) (netSpec, error) {
	nf, err := resnetWidth(&spec)
	if err != nil {
		return netSpec{}, err
	}
	w, err := PlaNetWidth(nf, spec.Input.C, spec.Classes)
	if err != nil {
		return netSpec{}, err
	}
	return plaSpec(spec, w), nil
}

// PlaNetWidth returns the width of "resnet18r-pla" paired with the Sta-Net
// of width nf ("resnet18r-sta") on inputs of inC channels with the given
// classes: the largest width w whose Pla-Net has no more parameters than
// that Sta-Net (both pool adaptively, so the counts do not depend on the
// input's height and width). It fails when even width 1 has more.
func PlaNetWidth(nf, inC, classes int) (int, error) {
	spec := Spec{Input: Shape{C: inC, H: 1, W: 1}, Classes: classes}
	budget := staSpec(spec, nf).params()
	count := func(w int) int { return plaSpec(spec, w).params() }
	w, ok := LargestWidth(count, budget)
	if !ok {
		return 0, fmt.Errorf("nn: model resnet18r-pla: no width fits the %d parameters of resnet18r-sta with nf %d (width 1 has %d): use a larger nf", budget, nf, count(1))
	}
	return w, nil
}

// LargestWidth returns the largest width w >= 1 with count(w) <= budget,
// for a parameter count that grows with the width, and false when even
// count(1) exceeds the budget.
func LargestWidth(count func(w int) int, budget int) (int, bool) {
	if count(1) > budget {
		return 0, false
	}
	lo, hi := 1, 2
	for count(hi) <= budget {
		lo, hi = hi, 2*hi
	}
	for hi-lo > 1 { // count(lo) <= budget < count(hi)
		mid := (lo + hi) / 2
		if count(mid) <= budget {
			lo = mid
		} else {
			hi = mid
		}
	}
	return lo, true
}

// params returns the number of parameters of the network ns describes
// (as newConvNet lays them out), on ns.spec's input; math.MaxInt when
// that input does not fit the network.
func (ns netSpec) params() int {
	f, err := checkConvNet(func(Spec) (netSpec, error) { return ns, nil }, ns.spec)
	if err != nil || f.Params > math.MaxInt {
		return math.MaxInt
	}
	return int(f.Params)
}
