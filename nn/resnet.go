package nn

import "fmt"

// DefaultNF is the width of resnet18r when Spec.NF is zero.
const DefaultNF = 20

func init() {
	RegisterArch(Arch{
		Name:  "resnet18r",
		Width: true,
		Summary: "reduced ResNet-18 of continual learning (nf = 20 by default): conv3×3 BN ReLU, " +
			"four stages of two BasicBlocks (nf, 2nf, 4nf, 8nf channels), average pooling 4, linear head",
		New:   func(spec Spec, c *Compute) (Model, error) { return buildConvNet(resnet18rSpec, spec, c) },
		Check: func(spec Spec) (Footprint, error) { return checkConvNet(resnet18rSpec, spec) },
	})
	RegisterArch(Arch{
		Name: "cnn",
		Summary: "small CNN: conv3×3 16, conv3×3 32 stride 2, conv3×3 64 stride 2 (each BN ReLU), " +
			"global average pooling, linear head",
		New:   func(spec Spec, c *Compute) (Model, error) { return buildConvNet(smallCNNSpec, spec, c) },
		Check: func(spec Spec) (Footprint, error) { return checkConvNet(smallCNNSpec, spec) },
	})
}

// resnet18rSpec describes the reduced ResNet-18 of GEM (ResNet18 with nf = 20),
// the network of Avalanche's SlimResNet18:
//
//	conv3×3(in→nf, stride 1, pad 1, no bias) BN ReLU;
//	four stages of two BasicBlocks with nf, 2nf, 4nf, 8nf channels and
//	strides 1, 2, 2, 2 (block: conv3×3(stride s) BN ReLU conv3×3 BN,
//	plus a shortcut conv1×1(stride s, no bias) BN when the shape
//	changes, identity otherwise; add; ReLU);
//	avg_pool2d(4) (kernel 4, stride 4, floor); flatten;
//	Linear(8nf·⌊H'/4⌋·⌊W'/4⌋ → classes).
//
// On 3×32×32 and 1×28×28 inputs the last map is 4×4, so the head is
// Linear(8nf, classes); with 10 classes and 3 input channels the network
// has 1,094,750 parameters. Inputs whose last map is smaller than 4×4
// (smaller than 25×25) are refused.
func resnet18rSpec(spec Spec) (netSpec, error) {
	nf, err := resnetWidth(&spec)
	if err != nil {
		return netSpec{}, err
	}
	return resnetSpec(spec, nf, 2, 4, 0), nil
}

// resnetWidth checks the fields of a ResNet's spec and returns its width,
// spec.NF or DefaultNF, which it records in spec.
func resnetWidth(spec *Spec) (int, error) {
	if spec.NF < 0 {
		return 0, fmt.Errorf("nn: model %s: nf %d: must be >= 1 (0: the default %d)", spec.Arch, spec.NF, DefaultNF)
	}
	if len(spec.Hidden) > 0 {
		return 0, fmt.Errorf("nn: model %s takes no hidden sizes (got %v)", spec.Arch, spec.Hidden)
	}
	if spec.NF == 0 {
		spec.NF = DefaultNF
	}
	return spec.NF, nil
}

// resnetSpec describes a reduced ResNet of width nf: the stem
// conv3×3(in→nf) BN ReLU, four stages of blocks BasicBlocks each (nf,
// 2nf, 4nf, 8nf channels, strides 1, 2, 2, 2), average pooling (a
// pool×pool kernel, or with pool 0 adaptive to out×out) and the head.
func resnetSpec(spec Spec, nf, blocks, pool, out int) netSpec {
	ns := netSpec{spec: spec, pool: pool, out: out}
	ns.units = append(ns.units, layerSpec{kind: unitConv, cout: nf, k: 3, stride: 1, pad: 1, bn: true, relu: true})
	for i, st := range []int{1, 2, 2, 2} {
		ch := nf << i
		ns.units = append(ns.units, layerSpec{kind: unitBlock, cout: ch, stride: st})
		for range blocks - 1 {
			ns.units = append(ns.units, layerSpec{kind: unitBlock, cout: ch, stride: 1})
		}
	}
	return ns
}

// smallCNNSpec describes "cnn", a small network for fast tests and quick
// experiments:
//
//	conv3×3(in→16, stride 1, pad 1) BN ReLU;
//	conv3×3(16→32, stride 2, pad 1) BN ReLU;
//	conv3×3(32→64, stride 2, pad 1) BN ReLU;
//	average pooling over the whole map; Linear(64 → classes).
//
// Convolutions have no bias (batch normalisation follows each). It fits
// any input size; on 1×28×28 it costs about 1/23 of resnet18r's
// multiply-adds.
func smallCNNSpec(spec Spec) (netSpec, error) {
	if spec.NF != 0 || len(spec.Hidden) > 0 {
		return netSpec{}, fmt.Errorf("nn: model cnn takes no nf (got %d) and no hidden sizes (got %v)", spec.NF, spec.Hidden)
	}
	ns := netSpec{spec: spec}
	for i, ch := range []int{16, 32, 64} {
		st := 2
		if i == 0 {
			st = 1
		}
		ns.units = append(ns.units, layerSpec{kind: unitConv, cout: ch, k: 3, stride: st, pad: 1, bn: true, relu: true})
	}
	return ns, nil
}
