package gemm

import (
	"os"
	"os/exec"
	"slices"
	"testing"
)

// TestGODEBUGSelectsAVX2 runs this test binary again with
// GODEBUG=cpu.avx512f=off (golang.org/x/sys/cpu reads GODEBUG as the
// runtime does) and checks that NewContext then uses the AVX2 kernels.
func TestGODEBUGSelectsAVX2(t *testing.T) {
	if want := os.Getenv("GEMM_WANT_KERNEL"); want != "" {
		ctx := NewContext(1)
		defer ctx.Close()
		if got := ctx.Kernel(); got != want {
			t.Fatalf("Kernel() = %s, want %s", got, want)
		}
		return
	}
	var names []string
	for _, ks := range availableKernels() {
		names = append(names, ks.name)
	}
	if !slices.Contains(names, "avx2") {
		t.Skip("no AVX2 kernels in this build or on this CPU")
	}
	cmd := exec.Command(os.Args[0], "-test.run", "^TestGODEBUGSelectsAVX2$", "-test.count", "1")
	cmd.Env = append(os.Environ(), "GODEBUG=cpu.avx512f=off", "GEMM_WANT_KERNEL=avx2")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("with GODEBUG=cpu.avx512f=off: %v\n%s", err, out)
	}
}
