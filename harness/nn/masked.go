package nn

import (
	"fmt"
	"math"
)

// SoftmaxCEValue is softmax cross-entropy with two kinds of class masks, for
// strategies that change the softmax of some rows (softmax masking, ER-ACE).
//
// In row r, with rm = masks[r] when masks is not nil and rm = mask
// otherwise:
//
//   - a class c with rm[c] false is removed, as in SoftmaxCE (logit −Inf);
//   - otherwise a class with keep[c] false has its logit replaced by the
//     constant value (so it receives exactly zero gradient: a stop-gradient
//     on the masked entry); value = −Inf removes it as well;
//   - every other class keeps its logit.
//
// nil rm or keep means all classes. The label of a row must not be removed;
// a label whose logit is replaced by a finite value contributes value to
// the loss and gets zero gradient. The return values and dlogits follow
// SoftmaxCE: dlogits receives scale·(softmax − onehot) over the classes that
// keep their logits and exactly 0 elsewhere; correct counts rows whose
// argmax (first maximum) over the effective logits is the label.
func SoftmaxCEValue(logits []float32, n, classes int, y []int32, mask []bool, masks [][]bool, keep []bool, value float32, scale float32, dlogits []float32) (lossSum float64, correct int) {
	if len(logits) < n*classes || len(y) < n {
		panic("nn: SoftmaxCEValue: short logits or labels")
	}
	if masks != nil && len(masks) < n {
		panic("nn: SoftmaxCEValue: fewer masks than rows")
	}
	if keep != nil && len(keep) != classes {
		panic("nn: SoftmaxCEValue: keep length differs from classes")
	}
	negInf := math.IsInf(float64(value), -1)
	// state reports how class c of a row enters the softmax: 0 removed,
	// 1 own logit, 2 the constant value.
	state := func(rm []bool, c int) int {
		if rm != nil && !rm[c] {
			return 0
		}
		if keep != nil && !keep[c] {
			if negInf {
				return 0
			}
			return 2
		}
		return 1
	}
	for r := range n {
		rm := mask
		if masks != nil {
			rm = masks[r]
		}
		if rm != nil && len(rm) != classes {
			panic("nn: SoftmaxCEValue: mask length differs from classes")
		}
		row := logits[r*classes : (r+1)*classes]
		lab := int(y[r])
		if lab < 0 || lab >= classes || state(rm, lab) == 0 {
			panic(fmt.Sprintf("nn: SoftmaxCEValue: label %d not an allowed class", lab))
		}
		best, arg := float32(math.Inf(-1)), -1
		for c, v := range row {
			switch state(rm, c) {
			case 0:
				continue
			case 2:
				v = value
			}
			if v > best || arg < 0 {
				best, arg = v, c
			}
		}
		if arg == lab {
			correct++
		}
		var sum float64
		for c, v := range row {
			switch state(rm, c) {
			case 0:
				continue
			case 2:
				v = value
			}
			sum += math.Exp(float64(v - best))
		}
		lse := float64(best) + math.Log(sum)
		ly := row[lab]
		if state(rm, lab) == 2 {
			ly = value
		}
		lossSum += lse - float64(ly)
		if dlogits != nil {
			drow := dlogits[r*classes : (r+1)*classes]
			for c, v := range row {
				if state(rm, c) != 1 {
					drow[c] = 0
					continue
				}
				p := math.Exp(float64(v) - lse)
				if c == lab {
					p -= 1
				}
				drow[c] = scale * float32(p)
			}
		}
	}
	return lossSum, correct
}
