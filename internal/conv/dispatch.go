package conv

// defaultKernels returns the best kernel set this CPU runs.
func defaultKernels() *kernelSet { return availableKernels()[0] }

// KernelName names the micro-kernel family new layers use: "avx512",
// "avx2" or "go".
func KernelName() string { return defaultKernels().name }
