package conv

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/cleval/cleval/internal/par"
)

// shape is one convolution of the tests: n samples of cin×h×w, cout
// output channels, k×k kernels; the tensors' borders inPad and outPad.
type shape struct {
	n, cin, cout, k, stride, pad, h, w int
	inPad, outPad                      int
	extra                              int // of both tensors
}

func (s shape) String() string {
	return fmt.Sprintf("n%d_%dx%dx%d_to%d_k%d_s%d_p%d", s.n, s.cin, s.h, s.w, s.cout, s.k, s.stride, s.pad)
}

// edgeShapes covers 1×1 images, odd sizes with stride 2, 1 and 3 input
// channels, batch 1, partial blocks, several blocks, tiles of every kind
// and the shapes of the reduced ResNet-18.
var edgeShapes = []shape{
	{n: 1, cin: 1, cout: 1, k: 3, stride: 1, pad: 1, h: 1, w: 1, inPad: 1, outPad: 1},
	{n: 1, cin: 3, cout: 5, k: 3, stride: 1, pad: 1, h: 1, w: 1, inPad: 1, outPad: 1},
	{n: 1, cin: 3, cout: 4, k: 3, stride: 2, pad: 1, h: 1, w: 1, inPad: 1, outPad: 1},
	{n: 3, cin: 1, cout: 7, k: 3, stride: 1, pad: 1, h: 5, w: 6, inPad: 1, outPad: 1},
	{n: 17, cin: 3, cout: 9, k: 3, stride: 2, pad: 1, h: 7, w: 7, inPad: 1, outPad: 1},
	{n: 5, cin: 2, cout: 3, k: 3, stride: 2, pad: 1, h: 6, w: 5, inPad: 2, outPad: 1},
	{n: 2, cin: 5, cout: 6, k: 1, stride: 2, pad: 0, h: 7, w: 9, inPad: 1, outPad: 1},
	{n: 2, cin: 5, cout: 6, k: 1, stride: 1, pad: 0, h: 3, w: 4, inPad: 0, outPad: 0},
	{n: 4, cin: 4, cout: 3, k: 3, stride: 1, pad: 0, h: 5, w: 5, inPad: 0, outPad: 2},
	{n: 1, cin: 2, cout: 2, k: 5, stride: 3, pad: 2, h: 8, w: 7, inPad: 2, outPad: 2},
	{n: 33, cin: 1, cout: 20, k: 3, stride: 1, pad: 1, h: 9, w: 9, inPad: 1, outPad: 1},
	{n: 16, cin: 20, cout: 40, k: 3, stride: 2, pad: 1, h: 8, w: 8, inPad: 1, outPad: 1},
	{n: 20, cin: 40, cout: 37, k: 3, stride: 1, pad: 1, h: 4, w: 4, inPad: 1, outPad: 1},
	{n: 16, cin: 31, cout: 61, k: 3, stride: 2, pad: 1, h: 7, w: 7, inPad: 1, outPad: 1},
	{n: 5, cin: 3, cout: 4, k: 3, stride: 1, pad: 1, h: 9, w: 5, inPad: 2, outPad: 2},
	{n: 2, cin: 29, cout: 30, k: 3, stride: 1, pad: 1, h: 14, w: 14, inPad: 1, outPad: 1},
	{n: 17, cin: 5, cout: 6, k: 3, stride: 1, pad: 1, h: 14, w: 14, inPad: 1, outPad: 1, extra: 2},
	{n: 3, cin: 7, cout: 9, k: 3, stride: 1, pad: 1, h: 7, w: 7, inPad: 1, outPad: 1, extra: 1},
	{n: 3, cin: 7, cout: 9, k: 3, stride: 2, pad: 1, h: 7, w: 7, inPad: 1, outPad: 1, extra: 1},
	// Wide on 28×28 (ResNet-18's full width): a block of 48 channels
	// holds 691 200 values, so 4096 blocks would pass 2³¹.
	{n: 2, cin: 48, cout: 64, k: 3, stride: 1, pad: 1, h: 28, w: 28, inPad: 1, outPad: 1},
}

func kernelSets() []*kernelSet {
	sets := availableKernels()
	if sets[len(sets)-1] != &genericKernels {
		sets = append(sets, &genericKernels)
	}
	return sets
}

func randSlice(rng *rand.Rand, n int) []float32 {
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(rng.NormFloat64())
	}
	return x
}

// naiveForward is the direct convolution in float64 of n NCHW samples:
// it returns y and, for each output value, the sum of the absolute values
// of its terms (the scale of its rounding error).
func naiveForward(s shape, x, w, bias []float32) (y, mag []float64) {
	ho, wo := OutSize(s.h, s.k, s.stride, s.pad), OutSize(s.w, s.k, s.stride, s.pad)
	y = make([]float64, s.n*s.cout*ho*wo)
	mag = make([]float64, len(y))
	for n := range s.n {
		for co := range s.cout {
			for oy := range ho {
				for ox := range wo {
					var acc, m float64
					if bias != nil {
						acc, m = float64(bias[co]), math.Abs(float64(bias[co]))
					}
					for ci := range s.cin {
						for kh := range s.k {
							for kw := range s.k {
								iy, ix := oy*s.stride-s.pad+kh, ox*s.stride-s.pad+kw
								if iy < 0 || iy >= s.h || ix < 0 || ix >= s.w {
									continue
								}
								t := float64(w[((co*s.cin+ci)*s.k+kh)*s.k+kw]) * float64(x[((n*s.cin+ci)*s.h+iy)*s.w+ix])
								acc += t
								m += math.Abs(t)
							}
						}
					}
					i := ((n*s.cout+co)*ho+oy)*wo + ox
					y[i], mag[i] = acc, m
				}
			}
		}
	}
	return y, mag
}

// naiveBackwardData returns dx = convᵀ(dy) and the magnitudes of its sums.
func naiveBackwardData(s shape, dy, w []float32) (dx, mag []float64) {
	ho, wo := OutSize(s.h, s.k, s.stride, s.pad), OutSize(s.w, s.k, s.stride, s.pad)
	dx = make([]float64, s.n*s.cin*s.h*s.w)
	mag = make([]float64, len(dx))
	for n := range s.n {
		for co := range s.cout {
			for oy := range ho {
				for ox := range wo {
					d := float64(dy[((n*s.cout+co)*ho+oy)*wo+ox])
					for ci := range s.cin {
						for kh := range s.k {
							for kw := range s.k {
								iy, ix := oy*s.stride-s.pad+kh, ox*s.stride-s.pad+kw
								if iy < 0 || iy >= s.h || ix < 0 || ix >= s.w {
									continue
								}
								t := float64(w[((co*s.cin+ci)*s.k+kh)*s.k+kw]) * d
								i := ((n*s.cin+ci)*s.h+iy)*s.w + ix
								dx[i] += t
								mag[i] += math.Abs(t)
							}
						}
					}
				}
			}
		}
	}
	return dx, mag
}

// naiveBackwardWeights returns dw = Σ dy ⊗ x and the magnitudes.
func naiveBackwardWeights(s shape, x, dy []float32) (dw, mag []float64) {
	ho, wo := OutSize(s.h, s.k, s.stride, s.pad), OutSize(s.w, s.k, s.stride, s.pad)
	dw = make([]float64, s.cout*s.cin*s.k*s.k)
	mag = make([]float64, len(dw))
	for n := range s.n {
		for co := range s.cout {
			for oy := range ho {
				for ox := range wo {
					d := float64(dy[((n*s.cout+co)*ho+oy)*wo+ox])
					for ci := range s.cin {
						for kh := range s.k {
							for kw := range s.k {
								iy, ix := oy*s.stride-s.pad+kh, ox*s.stride-s.pad+kw
								if iy < 0 || iy >= s.h || ix < 0 || ix >= s.w {
									continue
								}
								t := float64(x[((n*s.cin+ci)*s.h+iy)*s.w+ix]) * d
								i := ((co*s.cin+ci)*s.k+kh)*s.k + kw
								dw[i] += t
								mag[i] += math.Abs(t)
							}
						}
					}
				}
			}
		}
	}
	return dw, mag
}

// toBlocked scatters n samples (NCHW) into a new blocked tensor.
func toBlocked(t Tensor, x []float32, n int) []float32 {
	nb := Blocks(n)
	out := make([]float32, t.Len(nb))
	d := t.C * t.H * t.W
	for i := range n {
		t.Scatter(out, i/Lanes, i%Lanes, x[i*d:(i+1)*d])
	}
	return out
}

func fromBlocked(t Tensor, x []float32, n int) []float32 {
	d := t.C * t.H * t.W
	out := make([]float32, n*d)
	for i := range n {
		t.Gather(out[i*d:(i+1)*d], x, i/Lanes, i%Lanes)
	}
	return out
}

// checkClose compares got with want within float32 rounding of sums whose
// terms have absolute values adding up to mag.
func checkClose(t *testing.T, what string, got []float32, want, mag []float64) {
	t.Helper()
	bad := 0
	for i := range want {
		tol := 1e-5*mag[i] + 1e-6
		if d := math.Abs(float64(got[i]) - want[i]); !(d <= tol) {
			if bad < 5 {
				t.Errorf("%s[%d] = %v, want %v (tolerance %.3g)", what, i, got[i], want[i], tol)
			}
			bad++
		}
	}
	if bad > 0 {
		t.Errorf("%s: %d of %d values differ", what, bad, len(want))
	}
}

// checkBorder fails if any value outside the interior pixels of blocked
// tensor x, or in a lane at or beyond n, is nonzero.
func checkBorder(t *testing.T, what string, tn Tensor, x []float32, n int) {
	t.Helper()
	nb := Blocks(n)
	inside := make([]bool, len(x))
	for b := range nb {
		for c := range tn.C {
			for y := range tn.H {
				for xx := range tn.W {
					for l := range Lanes {
						if b*Lanes+l < n {
							inside[tn.Index(b, c, y, xx, l)] = true
						}
					}
				}
			}
		}
	}
	for i, v := range x {
		if !inside[i] && v != 0 {
			t.Fatalf("%s: value %v written outside the interior (offset %d)", what, v, i)
		}
	}
}

func TestLayerMatchesNaive(t *testing.T) {
	t.Parallel()
	for _, ks := range kernelSets() {
		for _, s := range edgeShapes {
			for _, wg := range []bool{false, true} {
				if wg && (ks.winoIn == nil || s.k != 3 || s.stride != 1 || s.pad != 1) {
					continue
				}
				name := ks.name + "/" + s.String()
				if wg {
					name += "/winograd"
				}
				t.Run(name, func(t *testing.T) {
					rng := rand.New(rand.NewPCG(uint64(s.n), uint64(s.cout)))
					ho, wo := OutSize(s.h, s.k, s.stride, s.pad), OutSize(s.w, s.k, s.stride, s.pad)
					in := Tensor{C: s.cin, H: s.h, W: s.w, Pad: s.inPad}
					out := Tensor{C: s.cout, H: ho, W: wo, Pad: s.outPad}
					l, err := newLayer(s.cin, s.cout, s.k, s.stride, s.pad, in, out, ks)
					if err != nil {
						t.Fatal(err)
					}
					l.SetWinograd(wg)
					if l.Winograd() != wg {
						t.Fatalf("Winograd %v, want %v", l.Winograd(), wg)
					}
					nb := Blocks(s.n)
					x := randSlice(rng, s.n*s.cin*s.h*s.w)
					w := randSlice(rng, s.cout*s.cin*s.k*s.k)
					bias := randSlice(rng, s.cout)
					dy := randSlice(rng, s.n*s.cout*ho*wo)

					// Forward, plain and with bias, residual and ReLU.
					packed := make([]float32, l.PackedLen())
					l.PackForward(packed, w, nil)
					xb := toBlocked(in, x, s.n)
					yb := make([]float32, out.Len(nb))
					l.Forward(nil, packed, xb, yb, nb, nil, nil, false)
					checkBorder(t, "forward", out, yb, s.n)
					want, mag := naiveForward(s, x, w, nil)
					checkClose(t, "forward", fromBlocked(out, yb, s.n), want, mag)

					res := randSlice(rng, len(want))
					resb := toBlocked(out, res, s.n)
					l.Forward(nil, packed, xb, yb, nb, bias, resb, true)
					want, mag = naiveForward(s, x, w, bias)
					for i := range want {
						want[i] += float64(res[i])
						mag[i] += math.Abs(float64(res[i]))
						want[i] = max(want[i], 0)
					}
					checkClose(t, "forward+bias+res+relu", fromBlocked(out, yb, s.n), want, mag)

					// Folded scale: equal to scaling the weights.
					scale := randSlice(rng, s.cout)
					l.PackForward(packed, w, scale)
					ws := make([]float32, len(w))
					kk := s.cin * s.k * s.k
					for i := range w {
						ws[i] = w[i] * scale[i/kk]
					}
					l.Forward(nil, packed, xb, yb, nb, nil, nil, false)
					want, mag = naiveForward(s, x, ws, nil)
					checkClose(t, "forward scaled", fromBlocked(out, yb, s.n), want, mag)

					// Backward data, plain and accumulated onto itself.
					bp := make([]float32, l.BackwardLen())
					l.PackBackward(bp, w)
					dyb := toBlocked(out, dy, s.n)
					dxb := make([]float32, in.Len(nb))
					l.BackwardData(nil, bp, dyb, dxb, nb, nil)
					checkBorder(t, "backward data", in, dxb, s.n)
					wantDx, magDx := naiveBackwardData(s, dy, w)
					checkClose(t, "backward data", fromBlocked(in, dxb, s.n), wantDx, magDx)
					l.BackwardData(nil, bp, dyb, dxb, nb, dxb)
					for i := range wantDx {
						wantDx[i] *= 2
						magDx[i] *= 2
					}
					checkClose(t, "backward data accumulated", fromBlocked(in, dxb, s.n), wantDx, magDx)

					// Weight gradient, added to what dw holds.
					dw := randSlice(rng, len(w))
					dw0 := append([]float32(nil), dw...)
					l.BackwardWeights(nil, xb, dyb, nb, dw)
					wantDw, magDw := naiveBackwardWeights(s, x, dy)
					for i := range wantDw {
						wantDw[i] += float64(dw0[i])
						magDw[i] += math.Abs(float64(dw0[i]))
					}
					checkClose(t, "weight gradient", dw, wantDw, magDw)
				})
			}
		}
	}
}

// TestThreadsBitIdentical runs every pass with 1, 2 and 3 threads.
func TestThreadsBitIdentical(t *testing.T) {
	t.Parallel()
	s := shape{n: 40, cin: 20, cout: 40, k: 3, stride: 2, pad: 1, h: 14, w: 14, inPad: 1, outPad: 1}
	rng := rand.New(rand.NewPCG(7, 7))
	ho, wo := OutSize(s.h, s.k, s.stride, s.pad), OutSize(s.w, s.k, s.stride, s.pad)
	in := Tensor{C: s.cin, H: s.h, W: s.w, Pad: s.inPad}
	out := Tensor{C: s.cout, H: ho, W: wo, Pad: s.outPad}
	l, err := NewLayer(s.cin, s.cout, s.k, s.stride, s.pad, in, out)
	if err != nil {
		t.Fatal(err)
	}
	l.wgChunk = 1 // several chunks
	nb := Blocks(s.n)
	xb := toBlocked(in, randSlice(rng, s.n*s.cin*s.h*s.w), s.n)
	dyb := toBlocked(out, randSlice(rng, s.n*s.cout*ho*wo), s.n)
	w := randSlice(rng, s.cout*s.cin*9)
	packed := make([]float32, l.PackedLen())
	l.PackForward(packed, w, nil)
	bp := make([]float32, l.BackwardLen())
	l.PackBackward(bp, w)
	var ref [3][]float32
	for _, th := range []int{1, 2, 3} {
		pool := par.New(th)
		r := NewRunner(pool)
		y := make([]float32, out.Len(nb))
		l.Forward(r, packed, xb, y, nb, nil, nil, true)
		dx := make([]float32, in.Len(nb))
		l.BackwardData(r, bp, dyb, dx, nb, nil)
		dw := make([]float32, len(w))
		l.BackwardWeights(r, xb, dyb, nb, dw)
		pool.Close()
		got := [3][]float32{y, dx, dw}
		for i, g := range got {
			if th == 1 {
				ref[i] = g
				continue
			}
			for j := range g {
				if math.Float32bits(g[j]) != math.Float32bits(ref[i][j]) {
					t.Fatalf("%d threads: pass %d differs at %d: %v vs %v", th, i, j, g[j], ref[i][j])
				}
			}
		}
	}
}

func TestNewLayerRejects(t *testing.T) {
	t.Parallel()
	in := Tensor{C: 3, H: 8, W: 8, Pad: 1}
	for _, tc := range []struct {
		name               string
		cin, cout, k, s, p int
		in, out            Tensor
	}{
		{"channels", 2, 4, 3, 1, 1, in, Tensor{C: 4, H: 8, W: 8, Pad: 1}},
		{"output size", 3, 4, 3, 2, 1, in, Tensor{C: 4, H: 8, W: 8, Pad: 1}},
		{"input border", 3, 4, 3, 1, 2, in, Tensor{C: 4, H: 10, W: 10, Pad: 1}},
		{"output border", 3, 4, 3, 1, 1, in, Tensor{C: 4, H: 8, W: 8, Pad: 0}},
		{"kernel too large", 3, 4, 11, 1, 1, in, Tensor{C: 4, H: 1, W: 1, Pad: 1}},
	} {
		if _, err := NewLayer(tc.cin, tc.cout, tc.k, tc.s, tc.p, tc.in, tc.out); err == nil {
			t.Errorf("%s: accepted", tc.name)
		}
	}
}

// TestKernelName logs the kernel family in use (compare.sh reports it).
func TestKernelName(t *testing.T) {
	if KernelName() == "" {
		t.Fatal("no kernel family")
	}
	t.Logf("kernel=%s", KernelName())
}
