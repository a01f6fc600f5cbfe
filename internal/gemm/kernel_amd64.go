//go:build amd64 && !noasm

package gemm

import "golang.org/x/sys/cpu"

//go:generate go run asmgen.go

var (
	avx512Set = kernelSet{
		name: "avx512", mr: len(avx512Kernels) - 1, fns: avx512Kernels[:],
		packT: packT16AVX512, packTRows: 16, copyPanel: copyPanelAVX512,
		dot: dotAVX512Kernels[:], dotChunk: 16,
	}
	avx2Set = kernelSet{
		name: "avx2", mr: len(avx2Kernels) - 1, fns: avx2Kernels[:],
		packT: packT8AVX2, packTRows: 8, copyPanel: copyPanelAVX2,
		dot: dotAVX2Kernels[:], dotChunk: 8,
	}
)

// availableKernels lists the kernel sets this CPU can run, best first.
func availableKernels() []kernelSet {
	var s []kernelSet
	if cpu.X86.HasAVX512F && cpu.X86.HasBMI2 {
		s = append(s, avx512Set)
	}
	if cpu.X86.HasAVX2 && cpu.X86.HasFMA {
		s = append(s, avx2Set)
	}
	return append(s, genericKernels)
}
