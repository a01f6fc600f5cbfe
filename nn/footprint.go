package nn

import (
	"fmt"

	"github.com/cleval/cleval/internal/conv"
)

// buildConvNet builds the network describe gives for spec.
func buildConvNet(describe func(Spec) (netSpec, error), spec Spec, c *Compute) (Model, error) {
	ns, err := describe(spec)
	if err != nil {
		return nil, err
	}
	return newConvNet(ns, c)
}

// checkConvNet walks the geometry of the network describe gives for spec,
// as newConvNet does, without allocating it: the errors are newConvNet's,
// and the footprint counts the arenas and, per row, the feature maps of a
// training pass and their gradients.
func checkConvNet(describe func(Spec) (netSpec, error), spec Spec) (Footprint, error) {
	ns, err := describe(spec)
	if err != nil {
		return Footprint{}, err
	}
	spec = ns.spec
	var f Footprint
	type shape struct{ c, h, w int }
	addConv := func(in shape, cout, k, stride, pad int, bias bool) (shape, error) {
		ho, wo := conv.OutSize(in.h, k, stride, pad), conv.OutSize(in.w, k, stride, pad)
		if ho < 1 || wo < 1 {
			return shape{}, fmt.Errorf("nn: model %s does not fit input %v: the feature map shrinks to nothing (a %dx%d convolution with stride %d on a %dx%d map)",
				spec.Arch, spec.Input, k, k, stride, in.h, in.w)
		}
		f.Params = satAdd(f.Params, satMul(satMul(int64(cout), int64(in.c)), int64(k*k)))
		if bias {
			f.Params = satAdd(f.Params, int64(cout))
		}
		out := shape{cout, ho, wo}
		// The map, its normalised form and their gradients.
		f.RowValues = satAdd(f.RowValues, satMul(4, satMul(int64(cout), int64(ho*wo))))
		return out, nil
	}
	addBN := func(ch int) {
		f.Params = satAdd(f.Params, 2*int64(ch))
		f.State = satAdd(f.State, 2*int64(ch))
	}
	cur := shape{spec.Input.C, spec.Input.H, spec.Input.W}
	for _, u := range ns.units {
		switch u.kind {
		case unitConv:
			out, err := addConv(cur, u.cout, u.k, u.stride, u.pad, u.bias)
			if err != nil {
				return Footprint{}, err
			}
			if u.bn {
				addBN(u.cout)
			}
			cur = out
		case unitBlock:
			mid, err := addConv(cur, u.cout, 3, u.stride, 1, false)
			if err != nil {
				return Footprint{}, err
			}
			addBN(u.cout)
			out, err := addConv(mid, u.cout, 3, 1, 1, false)
			if err != nil {
				return Footprint{}, err
			}
			addBN(u.cout)
			if u.stride != 1 || cur.c != u.cout {
				if _, err := addConv(cur, u.cout, 1, u.stride, 0, false); err != nil {
					return Footprint{}, err
				}
				addBN(u.cout)
			}
			cur = out
		}
	}
	// The pooled map: ⌊H/pool⌋×⌊W/pool⌋, or out×out when adaptive.
	oh := max(ns.out, 1)
	ow := oh
	if ns.pool > 0 {
		oh, ow = cur.h/ns.pool, cur.w/ns.pool
		if oh < 1 || ow < 1 {
			return Footprint{}, fmt.Errorf("nn: model %s does not fit input %v: its last feature map is %dx%d, smaller than the %dx%d average pooling",
				spec.Arch, spec.Input, cur.h, cur.w, ns.pool, ns.pool)
		}
	}
	feat := int64(cur.c * oh * ow)
	f.Params = satAdd(f.Params, satMul(feat+1, int64(spec.Classes)))
	f.RowValues = satAdd(f.RowValues, satMul(2, satAdd(feat, int64(spec.Classes))))
	return f, nil
}
