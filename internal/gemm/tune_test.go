//go:build linux

package gemm

import (
	"fmt"
	"math/rand/v2"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// extraTuneSets are experimental kernel sets TestTune can pick by name.
var extraTuneSets []kernelSet

func threadCPU() float64 {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_THREAD_CPUTIME_ID, &ts); err != nil {
		panic(err)
	}
	return float64(ts.Sec) + float64(ts.Nsec)*1e-9
}

// TestTune (GEMM_TUNE="kc,mc,flags ...") measures the GFLOPS of each
// configuration on the benchmark shapes, interleaved, and prints best and
// median. With one thread (GEMM_THREADS unset) time is the thread's CPU
// time, which other load disturbs less; with more, wall time. flags: 1 =
// pack A stored k×m instead of reading it in place, 2 = pack B in a phase
// of its own. GEMM_SHAPES filters shapes, GEMM_KERNEL picks the kernels.
func TestTune(t *testing.T) {
	spec := os.Getenv("GEMM_TUNE")
	if spec == "" {
		t.Skip("set GEMM_TUNE")
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	type cfg struct {
		kc, mc, direct int
		kernel         string
	}
	var cfgs []cfg
	for _, f := range strings.Fields(spec) {
		p := strings.Split(f+",0,", ",")
		kc, _ := strconv.Atoi(p[0])
		mc, _ := strconv.Atoi(p[1])
		direct, _ := strconv.Atoi(p[2])
		cfgs = append(cfgs, cfg{kc, mc, direct, p[3]})
	}
	filter := os.Getenv("GEMM_SHAPES")
	threads, _ := strconv.Atoi(os.Getenv("GEMM_THREADS"))
	clock := threadCPU
	if threads > 1 {
		clock = func() float64 { return float64(time.Now().UnixNano()) * 1e-9 }
	} else {
		threads = 1
	}
	rng := rand.New(rand.NewPCG(1, 1))
	for _, s := range benchShapes {
		name := fmt.Sprintf("%s_%dx%dx%d", layout(s.tA, s.tB), s.m, s.k, s.n)
		if filter != "" && !strings.Contains(name, filter) {
			continue
		}
		a := make([]float32, s.m*s.k)
		bb := make([]float32, s.k*s.n)
		c := make([]float32, s.m*s.n)
		for i := range a {
			a[i] = rng.Float32()
		}
		for i := range bb {
			bb[i] = rng.Float32()
		}
		lda, ldb := s.k, s.n
		if s.tA {
			lda = s.m
		}
		if s.tB {
			ldb = s.k
		}
		times := make([][]float64, len(cfgs))
		ctxs := make([]*Context, len(cfgs))
		for i, cf := range cfgs {
			ks := availableKernels()[0]
			want := cf.kernel
			if want == "" {
				want = os.Getenv("GEMM_KERNEL")
			}
			for _, k := range append(availableKernels(), extraTuneSets...) {
				if k.name == want {
					ks = k
				}
			}
			ctxs[i] = newContext(threads, ks)
			ctxs[i].native = true
			ctxs[i].e.directA = cf.direct&1 == 0
			ctxs[i].e.eagerB = cf.direct&2 != 0
			ctxs[i].e.directB = cf.direct&4 == 0
			if cf.kc > 0 {
				ctxs[i].e.kcMax = cf.kc
			}
			if cf.mc > 0 {
				ctxs[i].e.mcMax = cf.mc
			}
		}
		flops := 2 * float64(s.m*s.n*s.k)
		reps := max(1, int(3e8/flops))
		for round := 0; round < 15; round++ {
			for i, ctx := range ctxs {
				ctx.Sgemm(s.tA, s.tB, s.m, s.n, s.k, 1, a, lda, bb, ldb, 0, c, s.n)
				t0 := clock()
				for r := 0; r < reps; r++ {
					ctx.Sgemm(s.tA, s.tB, s.m, s.n, s.k, 1, a, lda, bb, ldb, 0, c, s.n)
				}
				times[i] = append(times[i], (clock()-t0)/float64(reps))
			}
		}
		line := fmt.Sprintf("%-18s", name)
		for i, cf := range cfgs {
			slices.Sort(times[i])
			line += fmt.Sprintf("  %d,%d,%d,%s:%6.1f/%6.1f", cf.kc, cf.mc, cf.direct, cf.kernel, flops/times[i][0]/1e9, flops/times[i][len(times[i])/2]/1e9)
			ctxs[i].Close()
		}
		t.Log(line)
	}
}
