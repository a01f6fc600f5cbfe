//go:build !amd64 || noasm

package gemm

// availableKernels lists the kernel sets this build can run, best first.
func availableKernels() []kernelSet { return []kernelSet{genericKernels} }
