//go:build amd64 && !noasm

package conv

import "golang.org/x/sys/cpu"

//go:generate go run asmgen.go

var (
	avx512Set = kernelSet{
		name: "avx512", fwdMax: len(fwdAVX512Kernels) - 1, fwd: fwdAVX512Kernels[:],
		wgR: len(wgAVX512Kernels) - 1, wgQ: len(wgAVX512Kernels[1]) - 1, wg: wgAVX512Kernels[:],
	}
	avx2Set = kernelSet{
		name: "avx2", fwdMax: len(fwdAVX2Kernels) - 1, fwd: fwdAVX2Kernels[:],
		wgR: len(wgAVX2Kernels) - 1, wgQ: len(wgAVX2Kernels[1]) - 1, wg: wgAVX2Kernels[:],
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
