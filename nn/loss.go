package nn

import (
	"fmt"
	"math"
)

// SoftmaxMask restricts or changes the softmax of SoftmaxCE. The zero value
// is the plain softmax over every class.
type SoftmaxMask struct {
	// Mask, when not nil (len classes), restricts every row's softmax to
	// the classes marked true: the others behave as logits of −Inf
	// (probability 0, never the argmax, gradient exactly 0).
	Mask []bool
	// Masks, when not nil, gives row r its own mask Masks[r] instead of
	// Mask (a nil entry: every class). Task-incremental batches that mix
	// tasks (new and replayed samples) use it.
	Masks [][]bool
	// Keep, when not nil (len classes), replaces in every row the logits
	// of the classes marked false by the constant Value: they stay in the
	// softmax but carry no gradient (exactly 0), and a Value of −Inf
	// removes them. It applies on top of Mask and Masks. Set Value
	// whenever Keep is set: its zero value is the logit 0.
	Keep  []bool
	Value float32
}

// Class states in one row: removed from the softmax, a logit of its own,
// or the constant SoftmaxMask.Value.
const (
	classOff = iota
	classOn
	classConst
)

// SoftmaxCE computes softmax cross-entropy for n rows of logits (each
// classes wide) against labels y, under the restrictions of mask. It
// returns the summed loss over the rows and the number of rows whose
// argmax (first maximum, over the classes in the softmax) equals the
// label. Every label must be a class in the softmax.
//
// When dlogits is not nil, it receives scale·(softmax − onehot) row by row,
// the gradient of scale·(summed loss); pass scale = w/n for a mean loss
// with weight w. Classes out of the softmax and constant classes get
// exactly 0.
func SoftmaxCE(logits []float32, n, classes int, y []int32, mask SoftmaxMask, scale float32, dlogits []float32) (lossSum float64, correct int) {
	if len(logits) < n*classes || len(y) < n {
		panic("nn: SoftmaxCE: short logits or labels")
	}
	if mask.Masks != nil && len(mask.Masks) < n {
		panic("nn: SoftmaxCE: fewer masks than rows")
	}
	keep := mask.Keep
	if keep != nil && len(keep) != classes {
		panic("nn: SoftmaxCE: keep length differs from classes")
	}
	value := mask.Value
	constState := classConst
	if math.IsInf(float64(value), -1) {
		constState = classOff
	}
	state := func(rm []bool, c int) int {
		if rm != nil && !rm[c] {
			return classOff
		}
		if keep != nil && !keep[c] {
			return constState
		}
		return classOn
	}
	for r := range n {
		rm := mask.Mask
		if mask.Masks != nil {
			rm = mask.Masks[r]
		}
		if rm != nil && len(rm) != classes {
			panic("nn: SoftmaxCE: mask length differs from classes")
		}
		row := logits[r*classes : (r+1)*classes]
		lab := int(y[r])
		if lab < 0 || lab >= classes || state(rm, lab) == classOff {
			panic(fmt.Sprintf("nn: SoftmaxCE: label %d not an allowed class", lab))
		}
		plain := rm == nil && keep == nil
		best, arg := float32(math.Inf(-1)), -1
		for c, v := range row {
			if !plain {
				switch state(rm, c) {
				case classOff:
					continue
				case classConst:
					v = value
				}
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
			if !plain {
				switch state(rm, c) {
				case classOff:
					continue
				case classConst:
					v = value
				}
			}
			sum += math.Exp(float64(v - best))
		}
		lse := float64(best) + math.Log(sum)
		ly := row[lab]
		if !plain && state(rm, lab) == classConst {
			ly = value
		}
		lossSum += lse - float64(ly)
		if dlogits != nil {
			drow := dlogits[r*classes : (r+1)*classes]
			for c, v := range row {
				if !plain && state(rm, c) != classOn {
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
