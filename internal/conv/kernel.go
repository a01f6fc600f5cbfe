package conv

import "unsafe"

// fwdFunc is a direct-convolution micro-kernel for r output channels (r
// fixed per function) and the Lanes samples of a block. For each of npix
// output pixels p it computes, lane by lane,
//
//	acc_j = Σ_{s<k} w[s·r+j] · in[p·inStep + offs[s]]        (j < r)
//	out[j·coStride + p·outStep] = relu(acc_j + bias[j] + res[j·coStride + p·outStep])
//
// where a nil bias or res is left out and relu is applied when relu ≠ 0
// (v < 0 becomes 0, NaN is kept). Offsets and strides count floats.
//
// Every implementation keeps one accumulator per output value, starts it
// at zero and adds the k products in order with one rounding each (a
// fused multiply-add in the assembly kernels), then adds the bias, then
// the residual. So a value does not depend on r, on the pixel count or on
// which thread computes it.
type fwdFunc func(k int, offs *int32, w *float32, in *float32, npix, inStep int, out *float32, outStep, coStride int, bias, res *float32, relu int)

// wgFunc is a weight-gradient micro-kernel for an r×q tile of the weight
// gradient (r output channels, q entries of the reduction index k, both
// fixed per function). Over nb blocks (block i at dy + i·dyBlock and
// x + i·xBlock) and the steps output pixels of each (the pairs
// steps[2t], steps[2t+1] are the offsets of the pixel in dy and of its
// receptive field in x) it sums, in 16-lane (AVX2: 8-lane) partial sums,
//
//	acc_ij = Σ dy[i·dyCo + dyOff] · x[kOffs[j] + xOff]
//
// then reduces the lanes by a fixed tree and adds the result to
// dw[i·ldw + j]. Offsets and strides count floats.
type wgFunc func(steps int, offs *int32, nb int, dy *float32, dyBlock, dyCo int, x *float32, xBlock int, kOffs *int32, dw *float32, ldw int)

// kernelSet is a family of micro-kernels: fwd[r] for 1 ≤ r ≤ fwdMax and
// wg[r][q] for 1 ≤ r ≤ wgR, 1 ≤ q ≤ wgQ.
type kernelSet struct {
	name     string
	fwdMax   int
	fwd      []fwdFunc
	wgR, wgQ int
	wg       [][]wgFunc

	// Winograd F(4×4, 3×3) transforms of one tile (nil: none; layers
	// then compute every convolution directly). winoIn writes the 36
	// vectors of Bᵀ·d·B, d the 6×6 vectors at src (row stride ld
	// floats, columns 16 apart), at v + ξ·vXi; winoOut writes the 4×4
	// vectors of Aᵀ·M·A + bias (+ res), ReLU'd when relu ≠ 0, M read at
	// m + ξ·mXi, at dst + i·ldDst + 16·j, for rows i < ny and columns
	// j < nx only. t is scratch for 36 vectors.
	winoIn func(v *float32, vXi int, src *float32, ld int, t *float32)
	// winoPack selects the assembly weight transform (winoPackAsm) of
	// AVX-512 (512) or AVX2 (256), transforming winoPackLanes kernels at
	// once.
	winoPack      int
	winoPackLanes int
	winoOut       func(dst *float32, ldDst int, m *float32, mXi int, bias float32, res *float32, ldRes int, relu int, t *float32, ny, nx int)
}

// goFwdMax, goWgR and goWgQ are the tile sizes of the portable kernels.
const (
	goFwdMax = 8
	goWgR    = 4
	goWgQ    = 4
)

// genericKernels are the portable Go kernels: the reference the assembly
// kernels are tested against, and what other architectures run.
var genericKernels = func() kernelSet {
	ks := kernelSet{name: "go", fwdMax: goFwdMax, wgR: goWgR, wgQ: goWgQ}
	ks.fwd = make([]fwdFunc, goFwdMax+1)
	for r := 1; r <= goFwdMax; r++ {
		ks.fwd[r] = func(k int, offs *int32, w *float32, in *float32, npix, inStep int, out *float32, outStep, coStride int, bias, res *float32, relu int) {
			fwdGo(r, k, offs, w, in, npix, inStep, out, outStep, coStride, bias, res, relu)
		}
	}
	ks.wg = make([][]wgFunc, goWgR+1)
	for r := 1; r <= goWgR; r++ {
		ks.wg[r] = make([]wgFunc, goWgQ+1)
		for q := 1; q <= goWgQ; q++ {
			ks.wg[r][q] = func(steps int, offs *int32, nb int, dy *float32, dyBlock, dyCo int, x *float32, xBlock int, kOffs *int32, dw *float32, ldw int) {
				wgGo(r, q, steps, offs, nb, dy, dyBlock, dyCo, x, xBlock, kOffs, dw, ldw)
			}
		}
	}
	return ks
}()

// at returns the float at p + i floats (i may be negative).
func at(p *float32, i int) *float32 { return (*float32)(unsafe.Add(unsafe.Pointer(p), 4*i)) }

// lanes returns the Lanes floats at p + i floats.
func lanesAt(p *float32, i int) *[Lanes]float32 {
	return (*[Lanes]float32)(unsafe.Add(unsafe.Pointer(p), 4*i))
}

// fwdGo is the portable forward kernel. Products are rounded explicitly
// (float32(a*b)) so that the compiler never fuses some of them into FMAs
// and not others.
func fwdGo(r, k int, offs *int32, w *float32, in *float32, npix, inStep int, out *float32, outStep, coStride int, bias, res *float32, relu int) {
	var acc [goFwdMax][Lanes]float32
	os := unsafe.Slice(offs, k)
	ws := unsafe.Slice(w, k*r)
	for p := range npix {
		acc = [goFwdMax][Lanes]float32{}
		base := p * inStep
		for s, off := range os {
			b := lanesAt(in, base+int(off))
			wr := ws[s*r : s*r+r]
			for j, wv := range wr {
				a := &acc[j]
				for l := range Lanes {
					a[l] += float32(wv * b[l])
				}
			}
		}
		for j := range r {
			a := &acc[j]
			if bias != nil {
				bv := *at(bias, j)
				for l := range Lanes {
					a[l] += bv
				}
			}
			o := j*coStride + p*outStep
			if res != nil {
				rv := lanesAt(res, o)
				for l := range Lanes {
					a[l] += rv[l]
				}
			}
			if relu != 0 {
				for l := range Lanes {
					if a[l] < 0 {
						a[l] = 0
					}
				}
			}
			*lanesAt(out, o) = *a
		}
	}
}

// wgGo is the portable weight-gradient kernel: 16-lane partial sums
// reduced by the tree ((l + l+8) + (l+4 ...)) that the AVX-512 kernel
// uses.
func wgGo(r, q, steps int, offs *int32, nb int, dy *float32, dyBlock, dyCo int, x *float32, xBlock int, kOffs *int32, dw *float32, ldw int) {
	var acc [goWgR][goWgQ][Lanes]float32
	os := unsafe.Slice(offs, 2*steps)
	ks := unsafe.Slice(kOffs, q)
	for b := range nb {
		dyb, xb := b*dyBlock, b*xBlock
		for t := range steps {
			dOff, xOff := dyb+int(os[2*t]), xb+int(os[2*t+1])
			for i := range r {
				d := lanesAt(dy, dOff+i*dyCo)
				for j := range q {
					xv := lanesAt(x, xOff+int(ks[j]))
					a := &acc[i][j]
					for l := range Lanes {
						a[l] += float32(d[l] * xv[l])
					}
				}
			}
		}
	}
	for i := range r {
		for j := range q {
			*at(dw, i*ldw+j) += reduce16(&acc[i][j])
		}
	}
}

// reduce16 sums 16 lanes by halving: lanes l and l+8, then l and l+4,
// l and l+2, l and l+1.
func reduce16(a *[Lanes]float32) float32 {
	var h [8]float32
	for l := range 8 {
		h[l] = a[l] + a[l+8]
	}
	for l := range 4 {
		h[l] += h[l+4]
	}
	h[0] += h[2]
	h[1] += h[3]
	return h[0] + h[1]
}
