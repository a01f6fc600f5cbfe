package conv

import (
	"fmt"
	"math"
)

// Layer is a planned 2-D convolution (cross-correlation, as PyTorch's
// Conv2d) of K×K kernels with a stride and zero padding, from a blocked
// tensor In to a blocked tensor Out. Its weights are an OIHW array
// (Cout×Cin×K×K, PyTorch's layout), which the forward and the backward
// data passes read in packed forms (PackForward, PackBackward).
//
// The plan depends on the shapes only, never on the batch or the thread
// count: a Layer may be shared by any number of workspaces.
type Layer struct {
	Cin, Cout, K, Stride, Pad int
	// In and Out are the geometries of the input and of the output; the
	// gradients have the same geometries. In.Pad must be at least Pad;
	// Out.Pad at least what the backward data pass reads beyond the
	// output (1 for 3×3 kernels).
	In, Out Tensor

	ks *kernelSet

	// Winograd plans of the forward and backward data passes (3×3,
	// stride 1, pad 1, assembly kernels), nil when the layer computes
	// directly.
	wf, wb *wino

	// Forward: k = Cin·K·K steps, step s = (ci, kh, kw) in OIHW order,
	// reading in at offset fwdOffs[s] from the receptive field's corner;
	// output channels in tiles.
	kdim     int
	fwdOffs  []int32
	fwdTiles []tile

	// Backward data: one class per parity of the input pixel (y+Pad,
	// x+Pad) modulo the stride.
	classes  []class
	bwdTiles []tile // input-channel tiles
	bwdLen   int    // floats of the packed backward weights

	// Weight gradient: the (dy, x) offset pairs of the output pixels of
	// one block, the tiles over Cout and k, and the blocks per chunk.
	wgSteps []int32
	wgRT    []tile
	wgQT    []tile
	wgChunk int
}

// tile is a range of channels [c0, c0+n).
type tile struct{ c0, n int }

// class is the part of the backward data pass for the input pixels
// (y, x) with (y+Pad) mod Stride = cy and (x+Pad) mod Stride = cx: rows
// y0, y0+Stride, ... (ny of them), columns x0, x0+Stride, ... (nx).
type class struct {
	cy, cx int
	y0, ny int
	x0, nx int
	taps   [][2]int // (kh, kw) of the class, last first
	offs   []int32  // per step (co, tap): offset in the output gradient
	k      int      // steps: Cout·len(taps)
	pack   int      // offset of the class's packed weights
}

// wgTargetSteps is the least number of output pixels (steps of 16
// samples) a chunk of the weight-gradient reduction covers: chunks are
// whole blocks, as many as make at least this many steps. Lane sums are
// reduced and added to the gradient once per chunk, so chunks trade the
// cost of the reduction against the cache footprint of a chunk.
const wgTargetSteps = 256

// NewLayer plans a convolution of cin→cout channels, k×k kernels, the
// given stride and padding, from in to out. It checks that the shapes
// agree and that the tensors' borders hold every value the passes read.
func NewLayer(cin, cout, k, stride, pad int, in, out Tensor) (*Layer, error) {
	return newLayer(cin, cout, k, stride, pad, in, out, defaultKernels())
}

func newLayer(cin, cout, k, stride, pad int, in, out Tensor, ks *kernelSet) (*Layer, error) {
	if cin < 1 || cout < 1 || k < 1 || stride < 1 || pad < 0 {
		return nil, fmt.Errorf("conv: bad convolution %d→%d k%d s%d p%d", cin, cout, k, stride, pad)
	}
	if in.C != cin || out.C != cout {
		return nil, fmt.Errorf("conv: %d→%d channels between tensors of %d and %d", cin, cout, in.C, out.C)
	}
	ho, wo := OutSize(in.H, k, stride, pad), OutSize(in.W, k, stride, pad)
	if ho < 1 || wo < 1 || out.H != ho || out.W != wo {
		return nil, fmt.Errorf("conv: %dx%d kernel, stride %d, pad %d on %v gives %dx%d, not the output %v", k, k, stride, pad, in, ho, wo, out)
	}
	if in.Pad < pad {
		return nil, fmt.Errorf("conv: input %v has a border narrower than the padding %d", in, pad)
	}
	l := &Layer{Cin: cin, Cout: cout, K: k, Stride: stride, Pad: pad, In: in, Out: out, ks: ks}
	l.kdim = cin * k * k
	// The kernels' int32 offsets reach within one block; they step from
	// block to block with 64-bit strides.
	if int64(max(in.Len(1), out.Len(1))) > math.MaxInt32 {
		return nil, fmt.Errorf("conv: tensors %v and %v too large", in, out)
	}
	for ci := range cin {
		for kh := range k {
			for kw := range k {
				l.fwdOffs = append(l.fwdOffs, int32(ci*in.Plane()+(kh*in.Wp()+kw)*Lanes))
			}
		}
	}
	l.fwdTiles = tiles(cout, ks.fwdMax)
	l.bwdTiles = tiles(cin, ks.fwdMax)
	if err := l.planBackward(); err != nil {
		return nil, err
	}
	for oy := range ho {
		for ox := range wo {
			l.wgSteps = append(l.wgSteps, int32(out.Pixel(oy, ox)), int32(l.inCorner(oy, ox)))
		}
	}
	l.wgRT = fixedTiles(cout, ks.wgR)
	l.wgQT = fixedTiles(l.kdim, ks.wgQ)
	l.wgChunk = max(1, (wgTargetSteps+ho*wo-1)/(ho*wo))
	l.SetWinograd(true)
	return l, nil
}

// SetWinograd selects, for a 3×3, stride-1, pad-1 layer, between the
// Winograd F(4×4, 3×3) forward and backward data passes (the default
// where the assembly kernels exist) and the direct ones; other layers
// always compute directly. It changes PackedLen and BackwardLen: pack
// again after calling it.
func (l *Layer) SetWinograd(on bool) {
	l.wf, l.wb = nil, nil
	if on && l.K == 3 && l.Stride == 1 && l.Pad == 1 && l.ks.winoIn != nil && l.Out.Pad >= 1 {
		l.wf = newWino(l.Cin, l.Cout, l.In, l.Out, l.ks)
		l.wb = newWino(l.Cout, l.Cin, l.Out, l.In, l.ks)
	}
}

// Winograd reports whether the layer computes by Winograd F(4×4, 3×3).
func (l *Layer) Winograd() bool { return l.wf != nil }

// maxBlocks bounds the blocks of one pass (65 536 samples).
const maxBlocks = 1 << 12

// OutSize is the output size of a convolution along one dimension:
// ⌊(n + 2·pad − k)/stride⌋ + 1 (0 when the kernel does not fit).
func OutSize(n, k, stride, pad int) int {
	if n+2*pad < k {
		return 0
	}
	return (n+2*pad-k)/stride + 1
}

// Kernel names the micro-kernel family in use ("avx512", "avx2", "go").
func (l *Layer) Kernel() string { return l.ks.name }

// Flops returns the floating-point operations of one sample's forward
// pass (2 per multiply-add); each backward product has as many.
func (l *Layer) Flops() int { return 2 * l.Cout * l.kdim * l.Out.H * l.Out.W }

// WeightLen returns the number of weights, Cout·Cin·K·K.
func (l *Layer) WeightLen() int { return l.Cout * l.kdim }

// inCorner returns the offset, in an input plane, of the top-left tap of
// output pixel (oy, ox) (inside the border when the padding reaches it).
func (l *Layer) inCorner(oy, ox int) int {
	return l.In.Pixel(oy*l.Stride-l.Pad, ox*l.Stride-l.Pad)
}

// tiles cuts n channels into the fewest tiles of at most m, of nearly
// equal sizes.
func tiles(n, m int) []tile {
	nt := (n + m - 1) / m
	t := make([]tile, nt)
	for i := range t {
		c0, c1 := n*i/nt, n*(i+1)/nt
		t[i] = tile{c0, c1 - c0}
	}
	return t
}

// fixedTiles cuts n into tiles of m and a last smaller one.
func fixedTiles(n, m int) []tile {
	var t []tile
	for c := 0; c < n; c += m {
		t = append(t, tile{c, min(m, n-c)})
	}
	return t
}

// planBackward builds the classes of the backward data pass and checks
// that every output-gradient value they read lies in Out's storage.
func (l *Layer) planBackward() error {
	s, out := l.Stride, l.Out
	off := 0
	for cy := range s {
		for cx := range s {
			c := class{cy: cy, cx: cx}
			c.y0 = ((cy-l.Pad)%s + s) % s
			c.x0 = ((cx-l.Pad)%s + s) % s
			if c.y0 < l.In.H {
				c.ny = (l.In.H - c.y0 + s - 1) / s
			}
			if c.x0 < l.In.W {
				c.nx = (l.In.W - c.x0 + s - 1) / s
			}
			// Taps from the last to the first, so that the offsets
			// they read (the output pixel minus the tap) ascend.
			for kh := l.K - 1; kh >= 0; kh-- {
				for kw := l.K - 1; kw >= 0; kw-- {
					if kh%s == cy && kw%s == cx {
						c.taps = append(c.taps, [2]int{kh, kw})
					}
				}
			}
			if c.ny == 0 || c.nx == 0 {
				continue
			}
			if len(c.taps) > 0 {
				// Rows read: oy = qy − (kh−cy)/s for the class's rows.
				qy0, qy1 := (c.y0+l.Pad-cy)/s, (c.y0+(c.ny-1)*s+l.Pad-cy)/s
				qx0, qx1 := (c.x0+l.Pad-cx)/s, (c.x0+(c.nx-1)*s+l.Pad-cx)/s
				far := c.taps[0] // the largest kh and kw
				oyMin, oyMax := qy0-(far[0]-cy)/s, qy1
				oxMin, oxMax := qx0-(far[1]-cx)/s, qx1
				if oyMin < -out.Pad || oxMin < -out.Pad || oyMax >= out.H+out.Pad || oxMax >= out.W+out.Pad {
					return fmt.Errorf("conv: output %v has a border too narrow for the backward pass of a %dx%d kernel with stride %d", out, l.K, l.K, s)
				}
			}
			for co := range l.Cout {
				for _, t := range c.taps {
					c.offs = append(c.offs, int32(co*out.Plane()-((t[0]-cy)/s*out.Wp()+(t[1]-cx)/s)*Lanes))
				}
			}
			c.k = len(c.offs)
			c.pack = off
			off += c.k * l.Cin
			l.classes = append(l.classes, c)
		}
	}
	l.bwdLen = off
	return nil
}

// PackedLen returns the length of the packed forward weights.
func (l *Layer) PackedLen() int {
	if l.wf != nil {
		return l.wf.packedLen()
	}
	return l.Cout * l.kdim
}

// PackForward packs the weights w (OIHW) for Forward into dst
// (PackedLen floats): tile by tile of output channels, step by step, the
// tile's channels side by side. With scale (Cout values) non-nil, the
// weights of output channel o are multiplied by scale[o] (a batch
// normalisation folded into the convolution).
func (l *Layer) PackForward(dst, w, scale []float32) {
	if len(w) < l.WeightLen() || len(dst) < l.PackedLen() || (scale != nil && len(scale) < l.Cout) {
		panic("conv: PackForward: short slices")
	}
	k := l.kdim
	if l.wf != nil {
		l.wf.pack(dst, w, scale, false)
		return
	}
	for _, t := range l.fwdTiles {
		p := dst[t.c0*k : (t.c0+t.n)*k]
		for j := range t.n {
			wr := w[(t.c0+j)*k : (t.c0+j+1)*k]
			if scale == nil {
				for s, v := range wr {
					p[s*t.n+j] = v
				}
				continue
			}
			sc := scale[t.c0+j]
			for s, v := range wr {
				p[s*t.n+j] = v * sc
			}
		}
	}
}

// BackwardLen returns the length of the packed backward weights.
func (l *Layer) BackwardLen() int {
	if l.wb != nil {
		return l.wb.packedLen()
	}
	return l.bwdLen
}

// PackBackward packs the weights w (OIHW) for BackwardData into dst
// (BackwardLen floats): class by class, tile by tile of input channels,
// step by step (output channel, then tap), the tile's channels side by
// side.
func (l *Layer) PackBackward(dst, w []float32) {
	if len(w) < l.WeightLen() || len(dst) < l.BackwardLen() {
		panic("conv: PackBackward: short slices")
	}
	if l.wb != nil {
		// The data gradient is the convolution of the output gradient
		// with the flipped kernels, input and output channels swapped.
		l.wb.pack(dst, w, nil, true)
		return
	}
	kk := l.K * l.K
	for _, c := range l.classes {
		nt := len(c.taps)
		for _, t := range l.bwdTiles {
			p := dst[c.pack+t.c0*c.k : c.pack+(t.c0+t.n)*c.k]
			for co := range l.Cout {
				for ti, tp := range c.taps {
					s := co*nt + ti
					for j := range t.n {
						p[s*t.n+j] = w[co*l.kdim+(t.c0+j)*kk+tp[0]*l.K+tp[1]]
					}
				}
			}
		}
	}
}
