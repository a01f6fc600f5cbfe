//go:build amd64 && !noasm

package conv

import "golang.org/x/sys/cpu"

//go:generate go run asmgen.go

var (
	avx512Set = kernelSet{
		name: "avx512", fwdMax: len(fwdAVX512Kernels) - 1, fwd: fwdAVX512Kernels[:],
		wgR: len(wgAVX512Kernels) - 1, wgQ: len(wgAVX512Kernels[1]) - 1, wg: wgAVX512Kernels[:],
		winoIn: winoInAVX512, winoOut: winoOutAVX512, winoPack: 512, winoPackLanes: 16,
	}
	avx2Set = kernelSet{
		name: "avx2", fwdMax: len(fwdAVX2Kernels) - 1, fwd: fwdAVX2Kernels[:],
		wgR: len(wgAVX2Kernels) - 1, wgQ: len(wgAVX2Kernels[1]) - 1, wg: wgAVX2Kernels[:],
		winoIn: winoInAVX2, winoOut: winoOutAVX2, winoPack: 256, winoPackLanes: 8,
	}
)

// availableKernels lists the kernel sets this CPU runs, best first.
// GODEBUG=cpu.avx512f=off hides AVX-512 (golang.org/x/sys/cpu reads it).
func availableKernels() []*kernelSet {
	var s []*kernelSet
	if cpu.X86.HasAVX512F {
		s = append(s, &avx512Set)
	}
	if cpu.X86.HasAVX2 && cpu.X86.HasFMA {
		s = append(s, &avx2Set)
	}
	return append(s, &genericKernels)
}

// planeAsm tells whether the plane passes run in assembly: AVX-512 when
// the CPU has it (planeAVX512), AVX2 otherwise. Direct calls (not
// function values) let the compiler see that no argument escapes.
var (
	planeAVX512 = cpu.X86.HasAVX512F
	planeAsm    = planeAVX512 || cpu.X86.HasAVX2
)

func planeSumAsm(s *float32, x *float32, rows, cols, ld int) {
	if planeAVX512 {
		planeSumAVX512(s, x, rows, cols, ld)
	} else {
		planeSumAVX2(s, x, rows, cols, ld)
	}
}

func planeSqDevAsm(s *float32, x *float32, rows, cols, ld int, mean float32) {
	if planeAVX512 {
		planeSqDevAVX512(s, x, rows, cols, ld, mean)
	} else {
		planeSqDevAVX2(s, x, rows, cols, ld, mean)
	}
}

func planeAffineAsm(dst, x, r *float32, rows, cols, ld int, a, b, ra, rb float32, flags, valid int) {
	if planeAVX512 {
		planeAffineAVX512(dst, x, r, rows, cols, ld, a, b, ra, rb, flags, valid)
	} else {
		planeAffineAVX2(dst, x, r, rows, cols, ld, a, b, ra, rb, flags, valid)
	}
}

func planeReLUMaskAsm(g, act *float32, rows, cols, ld int) {
	if planeAVX512 {
		planeReLUMaskAVX512(g, act, rows, cols, ld)
	} else {
		planeReLUMaskAVX2(g, act, rows, cols, ld)
	}
}

func planeBNSumsAsm(sg, sgd, g, h *float32, rows, cols, ld int, mean float32) {
	if planeAVX512 {
		planeBNSumsAVX512(sg, sgd, g, h, rows, cols, ld, mean)
	} else {
		planeBNSumsAVX2(sg, sgd, g, h, rows, cols, ld, mean)
	}
}

func planeBNSumsMaskAsm(sg, sgd, g, act, h *float32, rows, cols, ld int, mean float32) {
	if planeAVX512 {
		planeBNSumsMaskAVX512(sg, sgd, g, act, h, rows, cols, ld, mean)
	} else {
		planeBNSumsMaskAVX2(sg, sgd, g, act, h, rows, cols, ld, mean)
	}
}

func planeBNBackwardAsm(dh, g, h *float32, rows, cols, ld int, a, b, c, mean float32, valid int) {
	if planeAVX512 {
		planeBNBackwardAVX512(dh, g, h, rows, cols, ld, a, b, c, mean, valid)
	} else {
		planeBNBackwardAVX2(dh, g, h, rows, cols, ld, a, b, c, mean, valid)
	}
}

// winoPackAsm transforms a vector of kernels (see asmgen.go's winoPack):
// g[a] at g + a·gs, U[ξ] at u + ξ·us. A direct call, not a function
// value, so that the caller's buffers stay on its stack.
func winoPackAsm(isa int, g *float32, gs int, u *float32, us int) {
	if isa == 512 {
		winoPackAVX512(g, gs, u, us)
	} else {
		winoPackAVX2(g, gs, u, us)
	}
}
