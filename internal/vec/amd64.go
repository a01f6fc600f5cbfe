//go:build amd64 && !noasm

package vec

import "golang.org/x/sys/cpu"

var hasAVX512 = cpu.X86.HasAVX512F

//go:noescape
func addBiasReLU16(x *float32, ld, rows int, bias *float32, nv, relu int)

//go:noescape
func addBiasReLU8(x *float32, ld, rows int, bias *float32, nv, relu int)

func addBiasReLU(x []float32, ld, rows int, bias []float32, relu bool) {
	lanes := 8
	if hasAVX512 {
		lanes = 16
	}
	if !hasAVX512 && !cpu.X86.HasAVX {
		addBiasReLUGo(x, ld, rows, 0, bias, relu)
		return
	}
	nv := len(bias) / lanes
	r := 0
	if relu {
		r = 1
	}
	if nv > 0 {
		if hasAVX512 {
			addBiasReLU16(&x[0], ld, rows, &bias[0], nv, r)
		} else {
			addBiasReLU8(&x[0], ld, rows, &bias[0], nv, r)
		}
	}
	if c0 := nv * lanes; c0 < len(bias) {
		addBiasReLUGo(x, ld, rows, c0, bias, relu)
	}
}

//go:noescape
func addColSums16(dst, x *float32, ld, rows, nv int)

//go:noescape
func sgdStep16(p, grad, v *float32, n int, lr, mu, wd float32, mode int)

func addColSums(dst, x []float32, ld, rows int) {
	if !hasAVX512 {
		addColSumsGo(dst, x, ld, rows, 0)
		return
	}
	nv := len(dst) / 16
	if nv > 0 {
		addColSums16(&dst[0], &x[0], ld, rows, nv)
	}
	if c0 := nv * 16; c0 < len(dst) {
		addColSumsGo(dst, x, ld, rows, c0)
	}
}

// SGD modes of sgdStep16: bit 0 weight decay, bit 1 momentum, bit 2 first
// step, bit 3 Nesterov.
func sgdStep(p, g, v []float32, lr, mu, wd float32, first, nesterov bool) {
	n := len(p) / 16 * 16
	if !hasAVX512 || n == 0 {
		sgdStepGo(p, g, v, lr, mu, wd, first, nesterov, 0)
		return
	}
	mode := 0
	if wd != 0 {
		mode |= 1
	}
	vp := &p[0] // any valid pointer when there is no momentum buffer
	if mu != 0 {
		mode |= 2
		vp = &v[0]
		if first {
			mode |= 4
		}
		if nesterov {
			mode |= 8
		}
	}
	sgdStep16(&p[0], &g[0], vp, n, lr, mu, wd, mode)
	if n < len(p) {
		sgdStepGo(p, g, v, lr, mu, wd, first, nesterov, n)
	}
}

//go:noescape
func reluBackward16(d, act *float32, n int)

func reluBackward(d, act []float32) {
	n := len(d) / 16 * 16
	if !hasAVX512 || n == 0 {
		reluBackwardGo(d, act, 0)
		return
	}
	reluBackward16(&d[0], &act[0], n)
	if n < len(d) {
		reluBackwardGo(d, act, n)
	}
}
