package nn

import (
	"fmt"
	"math"
)

// SoftmaxCE computes softmax cross-entropy for n rows of logits (each
// classes wide) against labels y. It returns the summed loss over the rows
// and the number of rows whose argmax (first maximum) equals the label.
//
// mask, when not nil (len classes), restricts the softmax to the classes
// with mask[c] true: the others behave as logits of -Inf (probability 0,
// never the argmax, gradient exactly 0). Every label must be an allowed
// class.
//
// When dlogits is not nil, it receives scale·(softmax − onehot) row by row,
// the gradient of scale·(summed loss); pass scale = w/n for a mean loss with
// weight w. Masked classes get exactly 0.
func SoftmaxCE(logits []float32, n, classes int, y []int32, mask []bool, scale float32, dlogits []float32) (lossSum float64, correct int) {
	return softmaxCE(logits, n, classes, y, mask, nil, scale, dlogits)
}

// SoftmaxCEMasks is SoftmaxCE with one mask per row: masks[r] restricts row
// r (nil: all classes). Task-incremental batches that mix tasks (new data
// and replayed samples) use it.
func SoftmaxCEMasks(logits []float32, n, classes int, y []int32, masks [][]bool, scale float32, dlogits []float32) (lossSum float64, correct int) {
	if len(masks) < n {
		panic("nn: SoftmaxCEMasks: fewer masks than rows")
	}
	return softmaxCE(logits, n, classes, y, nil, masks, scale, dlogits)
}

func softmaxCE(logits []float32, n, classes int, y []int32, mask []bool, masks [][]bool, scale float32, dlogits []float32) (lossSum float64, correct int) {
	if len(logits) < n*classes || len(y) < n {
		panic("nn: SoftmaxCE: short logits or labels")
	}
	for r := range n {
		if masks != nil {
			mask = masks[r]
		}
		if mask != nil && len(mask) != classes {
			panic("nn: SoftmaxCE: mask length differs from classes")
		}
		row := logits[r*classes : (r+1)*classes]
		lab := int(y[r])
		if lab < 0 || lab >= classes || (mask != nil && !mask[lab]) {
			panic(fmt.Sprintf("nn: SoftmaxCE: label %d not an allowed class", lab))
		}
		best, arg := float32(math.Inf(-1)), -1
		for c, v := range row {
			if mask != nil && !mask[c] {
				continue
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
			if mask != nil && !mask[c] {
				continue
			}
			sum += math.Exp(float64(v - best))
		}
		lse := float64(best) + math.Log(sum)
		lossSum += lse - float64(row[lab])
		if dlogits != nil {
			drow := dlogits[r*classes : (r+1)*classes]
			for c, v := range row {
				if mask != nil && !mask[c] {
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
