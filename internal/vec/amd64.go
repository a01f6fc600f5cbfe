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
