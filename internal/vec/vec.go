// Package vec holds the element-wise float32 loops of the engine that the
// Go compiler does not vectorise, in Go assembly on amd64 (AVX-512 or
// AVX2) with portable Go fallbacks (other architectures, noasm tag).
// Every element gets the same arithmetic whichever implementation runs.
package vec

// AddBiasReLU sets x[r*ld+c] = x[r*ld+c] + bias[c] for rows 0..rows-1 and
// columns 0..len(bias)-1, then clamps negative values to 0 when relu is
// set (NaN is kept, as in `if v < 0 { v = 0 }`).
func AddBiasReLU(x []float32, ld, rows int, bias []float32, relu bool) {
	n := len(bias)
	if rows == 0 || n == 0 {
		return
	}
	if ld < n || len(x) < (rows-1)*ld+n {
		panic("vec: AddBiasReLU: short matrix")
	}
	addBiasReLU(x, ld, rows, bias, relu)
}

func addBiasReLUGo(x []float32, ld, rows, c0 int, bias []float32, relu bool) {
	for r := range rows {
		row := x[r*ld : r*ld+len(bias)]
		for c := c0; c < len(bias); c++ {
			v := row[c] + bias[c]
			if relu && v < 0 {
				v = 0
			}
			row[c] = v
		}
	}
}

// AddColSums adds the column sums of rows×n matrix x (row stride ld) to
// dst (len n): dst[c] += x[0,c] + x[1,c] + ..., summed in row order, one
// addition at a time (the bias gradient of a layer).
func AddColSums(dst, x []float32, ld, rows int) {
	n := len(dst)
	if rows == 0 || n == 0 {
		return
	}
	if ld < n || len(x) < (rows-1)*ld+n {
		panic("vec: AddColSums: short matrix")
	}
	addColSums(dst, x, ld, rows)
}

func addColSumsGo(dst, x []float32, ld, rows, c0 int) {
	for r := range rows {
		row := x[r*ld : r*ld+len(dst)]
		for c := c0; c < len(dst); c++ {
			dst[c] += row[c]
		}
	}
}

// SGDStep applies one SGD update to p from gradient g (v is the momentum
// buffer, unused when mu is 0), element by element, with PyTorch's
// semantics and the same arithmetic in every implementation (separate
// multiplications and additions, no fused multiply-add):
//
//	d = g + wd·p; v = d (first step) or mu·v + d; d = v (or d + mu·v, Nesterov); p -= lr·d
func SGDStep(p, g, v []float32, lr, mu, wd float32, first, nesterov bool) {
	if len(g) != len(p) || (mu != 0 && len(v) < len(p)) {
		panic("vec: SGDStep: slices of different lengths")
	}
	sgdStep(p, g, v, lr, mu, wd, first, nesterov)
}

func sgdStepGo(p, g, v []float32, lr, mu, wd float32, first, nesterov bool, i0 int) {
	for i := i0; i < len(p); i++ {
		d := g[i]
		if wd != 0 {
			d += wd * p[i]
		}
		if mu != 0 {
			if first {
				v[i] = d
			} else {
				v[i] = mu*v[i] + d
			}
			if nesterov {
				d += mu * v[i]
			} else {
				d = v[i]
			}
		}
		p[i] -= lr * d
	}
}

// ReLUBackward zeroes d[i] wherever act[i] <= 0 (the gradient through a
// ReLU whose output was act); NaN activations keep their gradient, as in
// the Go loop `if a <= 0 { d[i] = 0 }`.
func ReLUBackward(d, act []float32) {
	if len(act) < len(d) {
		panic("vec: ReLUBackward: short activations")
	}
	reluBackward(d, act)
}

func reluBackwardGo(d, act []float32, i0 int) {
	for i := i0; i < len(d); i++ {
		if act[i] <= 0 {
			d[i] = 0
		}
	}
}
