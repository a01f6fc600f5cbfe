package nn

import (
	"fmt"
	"math/rand/v2"
	"syscall"
	"testing"
	"time"

	"github.com/cleval/cleval/internal/conv"
)

// benchResNet returns resnet18r nf 20 on 1×28×28 (the workload of the
// speed comparison) with PyTorch-like initialisation, and n rows of
// Fashion-MNIST-like pixels and labels.
func benchResNet(b *testing.B, threads, n int) (Model, []float32, []int32) {
	m, err := New(Spec{Arch: "resnet18r", Input: Shape{C: 1, H: 28, W: 28}, Classes: 10}, NewCompute(threads))
	if err != nil {
		b.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 1))
	m.Init(rng)
	x := make([]float32, n*784)
	for i := range x {
		if rng.IntN(2) == 0 {
			x[i] = rng.Float32()
		}
	}
	y := make([]int32, n)
	for i := range y {
		y[i] = int32(rng.IntN(10))
	}
	return m, x, y
}

// cpuTime returns the CPU time the process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkResNetTrainStep is one update of the replay workload: 64 rows
// in two batch-normalisation groups of 32 (new and replayed samples),
// forward, loss 0.5·CE(new) + 0.5·CE(replay), backward, SGD with
// momentum. It reports samples/s and the CPU time per step (cpu-ms/op:
// on a shared machine the wall time counts other processes).
func BenchmarkResNetTrainStep(b *testing.B) {
	for _, th := range []int{1, 2} {
		b.Run(fmt.Sprintf("t%d", th), func(b *testing.B) {
			const n = 64
			m, x, y := benchResNet(b, th, n)
			defer m.Compute().Close()
			ws := m.NewWorkspace(n)
			opt := NewSGD(SGDConfig{LR: 0.05, Momentum: 0.9}, len(m.Params()))
			step := func() {
				ws.SetGroups(32, 32)
				m.ZeroGrad()
				logits := m.Forward(ws, x, n)
				SoftmaxCE(logits[:320], 32, 10, y[:32], SoftmaxMask{}, 0.5/32, ws.LogitGrad())
				SoftmaxCE(logits[320:], 32, 10, y[32:], SoftmaxMask{}, 0.5/32, ws.LogitGrad()[320:])
				m.Backward(ws)
				opt.Step(m.Params(), m.Grads())
			}
			step()
			b.ReportAllocs()
			c0 := cpuTime()
			for b.Loop() {
				step()
			}
			b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "samples/s")
			b.ReportMetric((cpuTime()-c0).Seconds()*1e3/float64(b.N), "cpu-ms/op")
		})
	}
}

// BenchmarkResNetInfer is an evaluation forward of 200 rows (Infer) with
// unchanged arenas, as the tasks of one evaluation point; t1refold
// alternates between two parameter arenas, so that every call folds the
// batch normalisations and packs the weights again (the first task of an
// evaluation point).
func BenchmarkResNetInfer(b *testing.B) {
	for _, tc := range []struct {
		name   string
		th     int
		refold bool
	}{{"t1", 1, false}, {"t2", 2, false}, {"t1refold", 1, true}} {
		b.Run(tc.name, func(b *testing.B) {
			const n = 200
			m, x, _ := benchResNet(b, tc.th, n)
			defer m.Compute().Close()
			ws := m.NewWorkspace(n)
			other := append([]float32(nil), m.Params()...)
			other[0] += 1e-3
			arenas := [2][]float32{m.Params(), other}
			m.Infer(m.Params(), m.State(), ws, x, n)
			b.ReportAllocs()
			c0 := cpuTime()
			i := 0
			for b.Loop() {
				p := arenas[0]
				if tc.refold {
					p = arenas[i%2]
					i++
				}
				m.Infer(p, m.State(), ws, x, n)
			}
			b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "samples/s")
			b.ReportMetric((cpuTime()-c0).Seconds()*1e3/float64(b.N), "cpu-ms/op")
		})
	}
}

// TestConvKernelName logs the convolution kernels in use (compare.sh
// reports them).
func TestConvKernelName(t *testing.T) {
	t.Logf("kernel=%s", conv.KernelName())
}
