//go:build ignore

// asmgen writes vec_amd64.s and vec_amd64_decl.go: the element-wise loops
// of package vec for AVX-512 (16 lanes, Z registers) and AVX2 (8 lanes, Y
// registers). Run with `go generate` in this directory.
//
// Every loop does, per element, the operations of its Go loop in vec.go,
// in the same order, with separate multiplies and adds (no fused
// multiply-add), so that every implementation gives the same bits. The
// loops handle whole vectors; the Go callers do the remainders with the
// Go loops.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"go/format"
	"log"
	"os"
)

var (
	out  bytes.Buffer
	decl bytes.Buffer
)

func p(format string, args ...any) { fmt.Fprintf(&out, format+"\n", args...) }
func i(format string, args ...any) { fmt.Fprintf(&out, "\t"+format+"\n", args...) }

// isa describes one vector instruction set.
type isa struct {
	suffix string // function name suffix: the lane count
	reg    string // "Z" or "Y"
	bytes  int    // vector width in bytes
	zero   string // instruction that zeroes a register (xor)
	avx512 bool
}

var isas = []isa{
	{suffix: "16", reg: "Z", bytes: 64, zero: "VPXORD", avx512: true},
	{suffix: "8", reg: "Y", bytes: 32, zero: "VXORPS"},
}

// r names vector register n of s.
func (s isa) r(n int) string { return fmt.Sprintf("%s%d", s.reg, n) }

// fn starts a function and declares it.
func fn(name, args, doc string, frame int) {
	fmt.Fprintf(&decl, "//go:noescape\nfunc %s%s\n\n", name, args)
	p("// func %s%s", name, args)
	p("// %s", doc)
	p("TEXT ·%s(SB), NOSPLIT, $0-%d", name, frame)
}

func ret() {
	i("VZEROUPPER")
	i("RET")
	p("")
}

// addBiasReLU: for each of rows rows, x[c] = x[c] + bias[c] over nv
// vectors, then max(+0, x) when relu != 0 (VMAXPS returns its second
// source, x, for NaN and for two zeros, as `if v < 0 { v = 0 }` does).
// Two loops, one per relu value.
func addBiasReLU(s isa) {
	name := "addBiasReLU" + s.suffix
	fn(name, "(x *float32, ld, rows int, bias *float32, nv, relu int)",
		"x[r*ld+c] += bias[c] for c < nv vectors, r < rows; then ReLU if relu != 0.", 48)
	i("MOVQ x+0(FP), DI")
	i("MOVQ ld+8(FP), DX")
	i("SHLQ $2, DX")
	i("MOVQ rows+16(FP), CX")
	i("MOVQ bias+24(FP), SI")
	i("MOVQ nv+32(FP), R8")
	i("%s %s, %s, %s", s.zero, s.r(15), s.r(15), s.r(15))
	i("MOVQ relu+40(FP), R9")
	i("TESTQ R9, R9")
	i("JNZ rowr")
	for _, relu := range []bool{false, true} {
		l := "n"
		if relu {
			l = "r"
		}
		p("row%s:", l)
		i("MOVQ DI, AX")
		i("MOVQ SI, BX")
		i("MOVQ R8, R10")
		p("col%s:", l)
		i("VMOVUPS (AX), %s", s.r(0))
		i("VADDPS (BX), %s, %s", s.r(0), s.r(0))
		if relu {
			i("VMAXPS %s, %s, %s", s.r(0), s.r(15), s.r(0))
		}
		i("VMOVUPS %s, (AX)", s.r(0))
		i("ADDQ $%d, AX", s.bytes)
		i("ADDQ $%d, BX", s.bytes)
		i("DECQ R10")
		i("JNZ col%s", l)
		i("ADDQ DX, DI")
		i("DECQ CX")
		i("JNZ row%s", l)
		ret()
	}
}

// addColSums: for each vector of dst, acc = dst; acc += x[r] for r in
// order; dst = acc. Four vectors at a time while possible, then one.
func addColSums(s isa) {
	name := "addColSums" + s.suffix
	fn(name, "(dst, x *float32, ld, rows, nv int)",
		"dst[c] += x[0*ld+c] + x[1*ld+c] + ..., one addition at a time in row order, c < nv vectors.", 40)
	i("MOVQ dst+0(FP), DI")
	i("MOVQ x+8(FP), SI")
	i("MOVQ ld+16(FP), DX")
	i("SHLQ $2, DX")
	i("MOVQ rows+24(FP), R8")
	i("MOVQ nv+32(FP), R9")
	for _, w := range []int{4, 1} {
		p("cs%d:", w)
		i("CMPQ R9, $%d", w)
		if w == 4 {
			i("JLT cs1")
		} else {
			i("JLT csdone")
		}
		for j := range w {
			i("VMOVUPS %d(DI), %s", j*s.bytes, s.r(j))
		}
		i("MOVQ SI, AX")
		i("MOVQ R8, CX")
		p("cs%drow:", w)
		for j := range w {
			i("VADDPS %d(AX), %s, %s", j*s.bytes, s.r(j), s.r(j))
		}
		i("ADDQ DX, AX")
		i("DECQ CX")
		i("JNZ cs%drow", w)
		for j := range w {
			i("VMOVUPS %s, %d(DI)", s.r(j), j*s.bytes)
		}
		i("ADDQ $%d, DI", w*s.bytes)
		i("ADDQ $%d, SI", w*s.bytes)
		i("SUBQ $%d, R9", w)
		i("JMP cs%d", w)
	}
	p("csdone:")
	ret()
}

// SGD modes: bit 0 weight decay, bit 1 momentum, bit 2 first step, bit 3
// Nesterov (bits 2 and 3 only with momentum).
const (
	modeWD = 1 << iota
	modeMomentum
	modeFirst
	modeNesterov
)

// sgdStep emits one loop per mode, chosen once at entry: the operations
// of sgdStepGo for that mode.
func sgdStep(s isa) {
	name := "sgdStep" + s.suffix
	fn(name, "(p, grad, v *float32, n int, lr, mu, wd float32, mode int)",
		"one SGD update of n elements (a multiple of the lanes); mode: 1 weight decay, 2 momentum, 4 first step, 8 Nesterov.", 56)
	i("MOVQ p+0(FP), DI")
	i("MOVQ grad+8(FP), SI")
	i("MOVQ v+16(FP), BX")
	i("MOVQ n+24(FP), CX")
	i("VBROADCASTSS lr+32(FP), %s", s.r(12))
	i("VBROADCASTSS mu+36(FP), %s", s.r(13))
	i("VBROADCASTSS wd+40(FP), %s", s.r(14))
	i("MOVQ mode+48(FP), R8")
	i("XORQ AX, AX")
	var modes []int
	for m := range 16 {
		if m&modeMomentum == 0 && m&(modeFirst|modeNesterov) != 0 {
			continue // first and Nesterov mean nothing without momentum
		}
		modes = append(modes, m)
	}
	for _, m := range modes {
		i("CMPQ R8, $%d", m)
		i("JEQ mode%d", m)
	}
	i("JMP done") // not reached: the caller passes a valid mode
	for _, m := range modes {
		p("mode%d:", m)
		i("VMOVUPS (SI)(AX*4), %s", s.r(0)) // d = g
		i("VMOVUPS (DI)(AX*4), %s", s.r(1)) // p
		if m&modeWD != 0 {
			i("VMULPS %s, %s, %s", s.r(1), s.r(14), s.r(2))
			i("VADDPS %s, %s, %s", s.r(2), s.r(0), s.r(0)) // d = g + wd*p
		}
		if m&modeMomentum != 0 {
			if m&modeFirst != 0 {
				i("VMOVUPS %s, (BX)(AX*4)", s.r(0)) // v = d
				i("VMOVAPS %s, %s", s.r(0), s.r(3))
			} else {
				i("VMOVUPS (BX)(AX*4), %s", s.r(3))
				i("VMULPS %s, %s, %s", s.r(3), s.r(13), s.r(3))
				i("VADDPS %s, %s, %s", s.r(0), s.r(3), s.r(3)) // v = mu*v + d
				i("VMOVUPS %s, (BX)(AX*4)", s.r(3))
			}
			if m&modeNesterov != 0 {
				i("VMULPS %s, %s, %s", s.r(3), s.r(13), s.r(4))
				i("VADDPS %s, %s, %s", s.r(4), s.r(0), s.r(0)) // d = d + mu*v
			} else {
				i("VMOVAPS %s, %s", s.r(3), s.r(0)) // d = v
			}
		}
		i("VMULPS %s, %s, %s", s.r(0), s.r(12), s.r(0))
		i("VSUBPS %s, %s, %s", s.r(0), s.r(1), s.r(1)) // p = p - lr*d
		i("VMOVUPS %s, (DI)(AX*4)", s.r(1))
		i("ADDQ $%d, AX", s.bytes/4)
		i("CMPQ AX, CX")
		i("JLT mode%d", m)
		i("JMP done")
	}
	p("done:")
	ret()
}

// reluBackward: d = 0 where act <= 0 (an ordered compare: false for NaN,
// so NaN activations keep their gradient), n a multiple of the lanes.
func reluBackward(s isa) {
	name := "reluBackward" + s.suffix
	fn(name, "(d, act *float32, n int)", "d[i] = 0 where act[i] <= 0 (not NaN), n a multiple of the lanes.", 24)
	i("MOVQ d+0(FP), DI")
	i("MOVQ act+8(FP), SI")
	i("MOVQ n+16(FP), CX")
	i("%s %s, %s, %s", s.zero, s.r(15), s.r(15), s.r(15))
	i("XORQ AX, AX")
	p("loop:")
	i("VMOVUPS (SI)(AX*4), %s", s.r(0))
	if s.avx512 {
		// K1 = act <= 0 (LE_OS); store +0 there.
		i("VCMPPS $2, %s, %s, K1", s.r(15), s.r(0))
		i("VMOVUPS %s, K1, (DI)(AX*4)", s.r(15))
	} else {
		// mask = act <= 0 (LE_OS); d = d AND NOT mask (+0 where set).
		i("VCMPPS $2, %s, %s, %s", s.r(15), s.r(0), s.r(1))
		i("VANDNPS (DI)(AX*4), %s, %s", s.r(1), s.r(1))
		i("VMOVUPS %s, (DI)(AX*4)", s.r(1))
	}
	i("ADDQ $%d, AX", s.bytes/4)
	i("CMPQ AX, CX")
	i("JLT loop")
	ret()
}

func main() {
	sOut := flag.String("s", "vec_amd64.s", "assembly output")
	gOut := flag.String("go", "vec_amd64_decl.go", "Go declarations output")
	flag.Parse()
	p("// Code generated by asmgen.go; DO NOT EDIT.")
	p("")
	p("//go:build amd64 && !noasm")
	p("")
	p("#include \"textflag.h\"")
	p("")
	fmt.Fprintf(&decl, "// Code generated by asmgen.go; DO NOT EDIT.\n\n//go:build amd64 && !noasm\n\npackage vec\n\n")
	for _, s := range isas {
		addBiasReLU(s)
		addColSums(s)
		sgdStep(s)
		reluBackward(s)
	}
	if err := os.WriteFile(*sOut, out.Bytes(), 0o644); err != nil {
		log.Fatal(err)
	}
	src, err := format.Source(decl.Bytes())
	if err != nil {
		log.Fatal(err)
	}
	if err := os.WriteFile(*gOut, src, 0o644); err != nil {
		log.Fatal(err)
	}
}
