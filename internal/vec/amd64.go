//go:build amd64 && !noasm

package vec

import "golang.org/x/sys/cpu"

//go:generate go run asmgen.go

// asmBuild tells whether this build has the assembly loops.
const asmBuild = true

// impl is one family of vector loops (see asmgen.go).
type impl struct {
	name        string
	lanes       int
	addBiasReLU func(x *float32, ld, rows int, bias *float32, nv, relu int)
	addColSums  func(dst, x *float32, ld, rows, nv int)
	sgdStep     func(p, grad, v *float32, n int, lr, mu, wd float32, mode int)
	reluBack    func(d, act *float32, n int)
}

var (
	avx512Impl = impl{"avx512", 16, addBiasReLU16, addColSums16, sgdStep16, reluBackward16}
	avx2Impl   = impl{"avx2", 8, addBiasReLU8, addColSums8, sgdStep8, reluBackward8}
)

// available lists the families this CPU runs, best first. golang.org/x/sys/cpu
// honours GODEBUG (cpu.avx512f=off selects the AVX2 loops).
func available() []*impl {
	var s []*impl
	if cpu.X86.HasAVX512F {
		s = append(s, &avx512Impl)
	}
	if cpu.X86.HasAVX2 {
		s = append(s, &avx2Impl)
	}
	return s
}

// active is the family in use, nil for the Go loops.
var active = func() *impl {
	if s := available(); len(s) > 0 {
		return s[0]
	}
	return nil
}()

// Kernel names the implementation in use: "avx512", "avx2" or "go".
func Kernel() string {
	if active == nil {
		return "go"
	}
	return active.name
}

func addBiasReLU(x []float32, ld, rows int, bias []float32, relu bool) {
	addBiasReLUWith(active, x, ld, rows, bias, relu)
}

func addBiasReLUWith(k *impl, x []float32, ld, rows int, bias []float32, relu bool) {
	c0 := 0
	if k != nil {
		if nv := len(bias) / k.lanes; nv > 0 {
			r := 0
			if relu {
				r = 1
			}
			k.addBiasReLU(&x[0], ld, rows, &bias[0], nv, r)
			c0 = nv * k.lanes
		}
	}
	if c0 < len(bias) {
		addBiasReLUGo(x, ld, rows, c0, bias, relu)
	}
}

func addColSums(dst, x []float32, ld, rows int) { addColSumsWith(active, dst, x, ld, rows) }

func addColSumsWith(k *impl, dst, x []float32, ld, rows int) {
	c0 := 0
	if k != nil {
		if nv := len(dst) / k.lanes; nv > 0 {
			k.addColSums(&dst[0], &x[0], ld, rows, nv)
			c0 = nv * k.lanes
		}
	}
	if c0 < len(dst) {
		addColSumsGo(dst, x, ld, rows, c0)
	}
}

// SGD modes of the sgdStep loops: bit 0 weight decay, bit 1 momentum,
// bit 2 first step, bit 3 Nesterov (bits 2 and 3 only with momentum).
func sgdStep(p, g, v []float32, lr, mu, wd float32, first, nesterov bool) {
	sgdStepWith(active, p, g, v, lr, mu, wd, first, nesterov)
}

func sgdStepWith(k *impl, p, g, v []float32, lr, mu, wd float32, first, nesterov bool) {
	n := 0
	if k != nil {
		n = len(p) / k.lanes * k.lanes
	}
	if n > 0 {
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
		k.sgdStep(&p[0], &g[0], vp, n, lr, mu, wd, mode)
	}
	if n < len(p) {
		sgdStepGo(p, g, v, lr, mu, wd, first, nesterov, n)
	}
}

func reluBackward(d, act []float32) { reluBackwardWith(active, d, act) }

func reluBackwardWith(k *impl, d, act []float32) {
	n := 0
	if k != nil {
		n = len(d) / k.lanes * k.lanes
	}
	if n > 0 {
		k.reluBack(&d[0], &act[0], n)
	}
	if n < len(d) {
		reluBackwardGo(d, act, n)
	}
}

// variants lists every implementation this CPU runs, the Go loops last.
func variants() []variant {
	var vs []variant
	for _, k := range available() {
		vs = append(vs, variant{
			name:  k.name,
			lanes: k.lanes,
			addBiasReLU: func(x []float32, ld, rows int, bias []float32, relu bool) {
				addBiasReLUWith(k, x, ld, rows, bias, relu)
			},
			addColSums: func(dst, x []float32, ld, rows int) { addColSumsWith(k, dst, x, ld, rows) },
			sgdStep: func(p, g, v []float32, lr, mu, wd float32, first, nesterov bool) {
				sgdStepWith(k, p, g, v, lr, mu, wd, first, nesterov)
			},
			reluBackward: func(d, act []float32) { reluBackwardWith(k, d, act) },
		})
	}
	return append(vs, goVariant)
}
