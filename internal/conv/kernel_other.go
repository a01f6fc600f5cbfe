//go:build !amd64 || noasm

package conv

func availableKernels() []*kernelSet { return []*kernelSet{&genericKernels} }
