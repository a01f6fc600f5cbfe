package conv

import (
	"fmt"
	"math/rand/v2"
	"syscall"
	"testing"
	"time"

	"github.com/cleval/cleval/internal/gemm"
	"github.com/cleval/cleval/internal/par"
)

// resnetShapes are the distinct convolutions of the reduced ResNet-18
// (nf 20) on 1×28×28 input.
var resnetShapes = []struct {
	name                      string
	cin, cout, k, stride, pad int
	h                         int
}{
	{"stem_1to20_28", 1, 20, 3, 1, 1, 28},
	{"s1_20to20_28", 20, 20, 3, 1, 1, 28},
	{"s2_20to40_28s2", 20, 40, 3, 2, 1, 28},
	{"s2_40to40_14", 40, 40, 3, 1, 1, 14},
	{"s2sc_20to40_1x1s2", 20, 40, 1, 2, 0, 28},
	{"s3_40to80_14s2", 40, 80, 3, 2, 1, 14},
	{"s3_80to80_7", 80, 80, 3, 1, 1, 7},
	{"s3sc_40to80_1x1s2", 40, 80, 1, 2, 0, 14},
	{"s4_80to160_7s2", 80, 160, 3, 2, 1, 7},
	{"s4_160to160_4", 160, 160, 3, 1, 1, 4},
	{"s4sc_80to160_1x1s2", 80, 160, 1, 2, 0, 7},
}

// BenchmarkLayers measures every conv shape of the reduced ResNet-18:
// the forward product (fwd), the data gradient (bwd_data) and the weight
// gradient (bwd_weights), at batches 32 and 200, with 1 and 2 threads,
// by this package's direct kernels (impl=direct), by its Winograd
// F(4×4, 3×3) passes where they apply (impl=winograd; the GFLOPS are
// those of the direct product it replaces), by im2col + the GEMM of
// internal/gemm (impl=im2col: cleval's GEMM, or OpenBLAS with -tags
// openblas; the unfolding, or the folding back of the data gradient,
// included), and by that GEMM alone on unfolded data (impl=gemm). GFLOPS
// count 2 per multiply-add of the product itself; the packing of the
// weights (once per model pass) is not timed.
func BenchmarkLayers(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, s := range resnetShapes {
		ho := OutSize(s.h, s.k, s.stride, s.pad)
		in := Tensor{C: s.cin, H: s.h, W: s.h, Pad: 1}
		out := Tensor{C: s.cout, H: ho, W: ho, Pad: 1}
		l, err := NewLayer(s.cin, s.cout, s.k, s.stride, s.pad, in, out)
		if err != nil {
			b.Fatal(err)
		}
		w := randSlice(rng, l.WeightLen())
		for _, n := range []int{32, 200} {
			nb := Blocks(n)
			x := randSlice(rng, in.Len(nb))
			dy := randSlice(rng, out.Len(nb))
			y := make([]float32, out.Len(nb))
			dx := make([]float32, in.Len(nb))
			dw := make([]float32, len(w))
			flops := float64(l.Flops()) * float64(n)
			for _, th := range []int{1, 2} {
				for _, op := range []string{"fwd", "bwd_data", "bwd_weights"} {
					for _, impl := range []string{"direct", "winograd"} {
						l.SetWinograd(impl == "winograd")
						if impl == "winograd" && (!l.Winograd() || op == "bwd_weights") {
							continue
						}
						packed := make([]float32, l.PackedLen())
						bp := make([]float32, l.BackwardLen())
						b.Run(fmt.Sprintf("%s/%s/n%d/t%d/impl=%s", s.name, op, n, th, impl), func(b *testing.B) {
							pool := par.New(th)
							defer pool.Close()
							r := NewRunner(pool)
							l.PackForward(packed, w, nil)
							l.PackBackward(bp, w)
							b.ReportAllocs()
							c0 := cpuTime()
							for b.Loop() {
								switch op {
								case "fwd":
									l.Forward(r, packed, x, y, nb, nil, nil, false)
								case "bwd_data":
									l.BackwardData(r, bp, dy, dx, nb, nil)
								case "bwd_weights":
									l.BackwardWeights(r, x, dy, nb, dw)
								}
							}
							reportFlops(b, flops, c0)
						})
					}
					l.SetWinograd(true)
					for _, impl := range []string{"im2col", "gemm"} {
						b.Run(fmt.Sprintf("%s/%s/n%d/t%d/impl=%s", s.name, op, n, th, impl), func(b *testing.B) {
							ic := newIm2col(s.cin, s.cout, s.k, s.stride, s.pad, s.h, n, th)
							defer ic.ctx.Close()
							xs := randSlice(rng, n*s.cin*s.h*s.h)
							dys := randSlice(rng, n*s.cout*ho*ho)
							ys := make([]float32, len(dys))
							dxs := make([]float32, len(xs))
							ic.unfold(xs)
							only := impl == "gemm"
							b.ReportAllocs()
							c0 := cpuTime()
							for b.Loop() {
								switch op {
								case "fwd":
									ic.forward(ys, xs, w, only)
								case "bwd_data":
									ic.backwardData(dxs, dys, w, only)
								case "bwd_weights":
									ic.backwardWeights(dw, xs, dys, only)
								}
							}
							reportFlops(b, flops, c0)
						})
					}
				}
			}
		}
	}
}

// im2col is the textbook convolution of a batch in NCHW layout: the
// receptive fields of every output pixel of every sample unfolded into
// one K×(n·Ho·Wo) matrix (K = Cin·k·k), multiplied by the Cout×K weights.
// The outputs come out channel-major (Cout×n×Ho×Wo), as one GEMM over the
// whole batch gives them. It is the comparison of the benchmarks.
type im2col struct {
	cin, cout, k, s, pad, h, ho, n int
	ctx                            *gemm.Context
	col, tmp                       []float32
}

func newIm2col(cin, cout, k, s, pad, h, n, threads int) *im2col {
	ho := OutSize(h, k, s, pad)
	kd := cin * k * k
	return &im2col{cin: cin, cout: cout, k: k, s: s, pad: pad, h: h, ho: ho, n: n, ctx: gemm.NewContext(threads),
		col: make([]float32, kd*n*ho*ho), tmp: make([]float32, cout*n*ho*ho)}
}

// unfold writes col[(ci,kh,kw)][(n,oy,ox)], row segments at a time.
func (c *im2col) unfold(x []float32) {
	P := c.n * c.ho * c.ho
	for ci := range c.cin {
		for kh := range c.k {
			for kw := range c.k {
				row := c.col[((ci*c.k+kh)*c.k+kw)*P:][:P]
				// Output columns whose input column is inside the image.
				lo := max(0, (c.pad-kw+c.s-1)/c.s)
				hi := min(c.ho, (c.h-1+c.pad-kw)/c.s+1)
				for n := range c.n {
					for oy := range c.ho {
						iy := oy*c.s - c.pad + kh
						d := row[(n*c.ho+oy)*c.ho:][:c.ho]
						if iy < 0 || iy >= c.h || lo >= hi {
							clear(d)
							continue
						}
						src := x[((n*c.cin+ci)*c.h+iy)*c.h:][:c.h]
						clear(d[:lo])
						clear(d[hi:])
						if c.s == 1 {
							copy(d[lo:hi], src[lo-c.pad+kw:])
							continue
						}
						for ox := lo; ox < hi; ox++ {
							d[ox] = src[ox*c.s-c.pad+kw]
						}
					}
				}
			}
		}
	}
}

// fold adds col back into dx (col2im).
func (c *im2col) fold(dx []float32) {
	clear(dx)
	P := c.n * c.ho * c.ho
	for ci := range c.cin {
		for kh := range c.k {
			for kw := range c.k {
				row := c.col[((ci*c.k+kh)*c.k+kw)*P:][:P]
				for n := range c.n {
					for oy := range c.ho {
						iy := oy*c.s - c.pad + kh
						if iy < 0 || iy >= c.h {
							continue
						}
						d := dx[((n*c.cin+ci)*c.h+iy)*c.h:][:c.h]
						src := row[(n*c.ho+oy)*c.ho:][:c.ho]
						for ox, v := range src {
							if ix := ox*c.s - c.pad + kw; ix >= 0 && ix < c.h {
								d[ix] += v
							}
						}
					}
				}
			}
		}
	}
}

// forward computes y; with gemmOnly the unfolding is left out (col
// holds it already), so that the product alone is timed.
func (c *im2col) forward(y, x, w []float32, gemmOnly bool) {
	if !gemmOnly {
		c.unfold(x)
	}
	P := c.n * c.ho * c.ho
	kd := c.cin * c.k * c.k
	c.ctx.Sgemm(false, false, c.cout, P, kd, 1, w, kd, c.col, P, 0, y, P)
}

func (c *im2col) backwardData(dx, dy, w []float32, gemmOnly bool) {
	P := c.n * c.ho * c.ho
	kd := c.cin * c.k * c.k
	c.ctx.Sgemm(true, false, kd, P, c.cout, 1, w, kd, dy, P, 0, c.col, P)
	if !gemmOnly {
		c.fold(dx)
	}
}

func (c *im2col) backwardWeights(dw, x, dy []float32, gemmOnly bool) {
	if !gemmOnly {
		c.unfold(x)
	}
	P := c.n * c.ho * c.ho
	kd := c.cin * c.k * c.k
	c.ctx.Sgemm(false, true, c.cout, kd, P, 1, dy, P, c.col, P, 1, dw, kd)
}

// cpuTime returns the CPU time the process has used (user + system).
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// reportFlops reports GFLOPS over wall time and, as cpu-GFLOPS, over the
// CPU time the process used since c0 (all threads): on a machine shared
// with other work, wall time counts the time other processes ran, CPU
// time much less so.
func reportFlops(b *testing.B, flopsPerOp float64, c0 time.Duration) {
	total := flopsPerOp * float64(b.N)
	b.ReportMetric(total/b.Elapsed().Seconds()/1e9, "GFLOPS")
	if c := (cpuTime() - c0).Seconds(); c > 0 {
		b.ReportMetric(total/c/1e9, "cpu-GFLOPS")
	}
}
