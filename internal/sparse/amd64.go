//go:build amd64 && !noasm

package sparse

import (
	"golang.org/x/sys/cpu"
)

//go:generate go run asmgen.go

// available lists the kernel families this CPU runs, best first.
// golang.org/x/sys/cpu honours GODEBUG (cpu.avx512f=off selects AVX2).
func available() []*kernels {
	var s []*kernels
	if cpu.X86.HasAVX512F {
		s = append(s, &kernels{name: "avx512", lanes: 16, mul: mulAVX512Kernels[:], outer: outerAVX512Kernels[:]})
	}
	if cpu.X86.HasAVX2 && cpu.X86.HasFMA {
		s = append(s, &kernels{name: "avx2", lanes: 8, mul: mulAVX2Kernels[:], outer: outerAVX2Kernels[:]})
	}
	return s
}

// active is the family in use, nil for the Go loops.
var active = func() *kernels {
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

// tiles splits nv vectors into the fewest tiles of at most maxV vectors,
// of balanced widths; it calls fn with each tile's first vector and width.
// (Tiling W further to keep it in L2 was measured on MNIST: no gain.)
func tiles(nv, maxV int, fn func(v0, v int)) {
	if nv == 0 {
		return
	}
	t := (nv + maxV - 1) / maxV
	v0 := 0
	for k := range t {
		v := nv / t
		if k < nv%t {
			v++
		}
		fn(v0, v)
		v0 += v
	}
}

var dummyCol [1]int32
var dummyVal [1]float32

func mulRows(out []float32, ldo int, m *CSR, r0, r1 int, w []float32, ldw, n int, bias []float32, relu, acc bool) {
	k := active
	if k == nil {
		mulRowsGo(out, ldo, m, r0, r1, w, ldw, 0, n, bias, relu, acc)
		return
	}
	nv := n / k.lanes
	r := 0
	if relu {
		r = 1
	}
	tiles(nv, len(k.mul)-1, func(v0, v int) {
		c0 := v0 * k.lanes
		fn := k.mul[v]
		var bp *float32
		if bias != nil {
			bp = &bias[c0]
		}
		for i := r0; i < r1; i++ {
			a, b := m.RowPtr[i], m.RowPtr[i+1]
			col, val := &dummyCol[0], &dummyVal[0]
			if b > a {
				col, val = &m.Col[a], &m.Val[a]
			}
			o := &out[(i-r0)*ldo+c0]
			if acc {
				bp = o // the kernel starts from the output row itself
			}
			fn(o, &w[c0], ldw, col, val, int(b-a), bp, r)
		}
	})
	if c0 := nv * k.lanes; c0 < n {
		mulRowsGo(out, ldo, m, r0, r1, w, ldw, c0, n, bias, relu, acc)
	}
}

func addOuter(w []float32, ldw int, m *CSR, d []float32, ldd, c0, c1 int) {
	k := active
	if k == nil {
		addOuterGo(w, ldw, m, d, ldd, c0, c1)
		return
	}
	nv := (c1 - c0) / k.lanes
	tiles(nv, len(k.outer)-1, func(v0, v int) {
		t0 := c0 + v0*k.lanes
		fn := k.outer[v]
		for i := range m.Rows {
			a, b := m.RowPtr[i], m.RowPtr[i+1]
			if b == a {
				continue
			}
			fn(&w[t0], ldw, &m.Col[a], &m.Val[a], int(b-a), &d[i*ldd+t0])
		}
	})
	if t := c0 + nv*k.lanes; t < c1 {
		addOuterGo(w, ldw, m, d, ldd, t, c1)
	}
}
