//go:build amd64 && !noasm

package conv

import (
	"math"
	"math/rand/v2"
	"testing"

	"golang.org/x/sys/cpu"
)

// TestPlaneKernelsBitIdentical runs every assembly plane pass of every
// instruction set this CPU has against the Go loops, which they must
// match bit for bit.
func TestPlaneKernelsBitIdentical(t *testing.T) {
	t.Parallel()
	type planeKernels struct {
		sum    func(s *float32, x *float32, rows, cols, ld int)
		sqDev  func(s *float32, x *float32, rows, cols, ld int, mean float32)
		affine func(dst, x, r *float32, rows, cols, ld int, a, b, ra, rb float32, flags, valid int)
		mask   func(g, act *float32, rows, cols, ld int)
		bnSums func(sg, sgd, g, h *float32, rows, cols, ld int, mean float32)
		bnBack func(dh, g, h *float32, rows, cols, ld int, a, b, c, mean float32, valid int)
		sumsM  func(sg, sgd, g, act, h *float32, rows, cols, ld int, mean float32)
	}
	sets := map[string]*planeKernels{}
	if cpu.X86.HasAVX512F {
		sets["avx512"] = &planeKernels{planeSumAVX512, planeSqDevAVX512, planeAffineAVX512, planeReLUMaskAVX512, planeBNSumsAVX512, planeBNBackwardAVX512, planeBNSumsMaskAVX512}
	}
	if cpu.X86.HasAVX2 {
		sets["avx2"] = &planeKernels{planeSumAVX2, planeSqDevAVX2, planeAffineAVX2, planeReLUMaskAVX2, planeBNSumsAVX2, planeBNBackwardAVX2, planeBNSumsMaskAVX2}
	}
	if len(sets) == 0 {
		t.Skip("no AVX2 on this CPU: the Go loops run")
	}
	rng := rand.New(rand.NewPCG(5, 6))
	for name, pk := range sets {
		for _, tn := range []Tensor{{C: 2, H: 1, W: 1, Pad: 0}, {C: 3, H: 5, W: 7, Pad: 1}, {C: 1, H: 4, W: 4, Pad: 2}} {
			nb := 2
			buf := func() []float32 {
				x := randSlice(rng, tn.Len(nb))
				for i := range x {
					if rng.IntN(50) == 0 {
						x[i] = float32(math.NaN())
					}
				}
				return x
			}
			off := tn.Block() + tn.Plane() // block 1, channel 1 (or 0)
			if tn.C == 1 {
				off = tn.Block()
			}
			o := off + tn.Pixel(0, 0)
			ld := tn.Wp() * Lanes
			same := func(what string, a, b []float32) {
				t.Helper()
				for i := range a {
					if math.Float32bits(a[i]) != math.Float32bits(b[i]) {
						t.Fatalf("%s %s %v: element %d: %v, Go %v", name, what, tn, i, a[i], b[i])
					}
				}
			}
			var s1, s2, s3, s4 [Lanes]float32
			x, h := buf(), buf()
			copy(s1[:], randSlice(rng, Lanes))
			s2 = s1
			pk.sum(&s1[0], &x[o], tn.H, tn.W, ld)
			planeSumGo(&s2, tn, x, off)
			same("sum", s1[:], s2[:])
			pk.sqDev(&s1[0], &x[o], tn.H, tn.W, ld, 0.3)
			planeSqDevGo(&s2, tn, x, off, 0.3)
			same("sqdev", s1[:], s2[:])
			s3, s4 = s1, s2
			pk.bnSums(&s1[0], &s3[0], &x[o], &h[o], tn.H, tn.W, ld, -0.2)
			planeBNSumsGo(&s2, &s4, tn, x, h, off, -0.2)
			same("bnsums g", s1[:], s2[:])
			same("bnsums gd", s3[:], s4[:])
			gm1 := buf()
			gm2 := append([]float32(nil), gm1...)
			pk.sumsM(&s1[0], &s3[0], &gm1[o], &x[o], &h[o], tn.H, tn.W, ld, 0.1)
			planeReLUMaskGo(tn, gm2, x, off)
			planeBNSumsGo(&s2, &s4, tn, gm2, h, off, 0.1)
			same("masked sums g", s1[:], s2[:])
			same("masked sums gd", s3[:], s4[:])
			same("masked gradient", gm1, gm2)
			for _, valid := range []int{0, 1, 7, 8, 9, 16} {
				for flags := range 8 {
					if flags&4 != 0 && flags&2 == 0 {
						continue
					}
					d1, d2 := buf(), buf()
					copy(d2, d1)
					var r, rp = []float32(nil), (*float32)(nil)
					if flags&2 != 0 {
						r = buf()
						rp = &r[o]
					}
					pk.affine(&d1[o], &x[o], rp, tn.H, tn.W, ld, 1.5, -0.25, 0.75, 0.5, flags, valid)
					planeAffineGo(tn, d2, x, off, 1.5, -0.25, r, flags&4 != 0, 0.75, 0.5, flags&1 != 0, valid)
					same("affine", d1, d2)
				}
				d1, d2 := buf(), buf()
				copy(d2, d1)
				pk.bnBack(&d1[o], &x[o], &h[o], tn.H, tn.W, ld, 1.25, -0.5, 0.125, 0.3, valid)
				planeBNBackwardGo(tn, d2, x, h, off, 1.25, -0.5, 0.125, 0.3, valid)
				same("bnback", d1, d2)
			}
			g1 := buf()
			g2 := append([]float32(nil), g1...)
			pk.mask(&g1[o], &h[o], tn.H, tn.W, ld)
			planeReLUMaskGo(tn, g2, h, off)
			same("mask", g1, g2)
		}
	}
}
