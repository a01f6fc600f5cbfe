package conv

import "unsafe"

// Winograd F(4×4, 3×3): a 3×3, stride-1 convolution computed tile by
// tile, each 4×4 output tile from a 6×6 input tile, as
//
//	Y = Aᵀ·[Σ_ci (G·g·Gᵀ) ⊙ (Bᵀ·d·B)]·A
//
// 36 multiplications per tile and channel pair instead of 144. The
// transforms run per tile on 16-lane vectors (winoIn, winoOut); the sums
// over input channels are 36 independent products, one per position ξ
// of the 6×6 transformed tile, which the forward micro-kernel computes
// (k = Cin steps, the tiles of a chunk as its pixels). A tile's 36
// transformed vectors are contiguous (per input and per output channel):
// the transforms read and write them in one stream; the products read
// them 36 vectors apart. Chunks are a few tiles of a tile row, so that
// the transformed input and output of a chunk stay in L2.

const winoXi = 36 // positions of a transformed tile

// winoChunkBytes bounds the transformed input and output of a chunk of
// tiles (measured: chunks of a whole tile row at 28×28 and 20 channels,
// 645 KB, left the transforms waiting on L2 misses; 4 tiles run 1.4×
// faster).
const winoChunkBytes = 384 << 10

// wino is the Winograd plan of a 3×3, stride-1, pad-1 convolution of cin
// channels of in into cout channels of out (same size; the backward data
// pass of such a layer is one too).
type wino struct {
	cin, cout int
	in, out   Tensor
	th, tw    int     // tiles down and across
	g, nc     int     // tiles per chunk (along a tile row), chunks per tile row
	tiles     []tile  // output-channel tiles of the products
	offs      []int32 // per input channel: its offset in the transformed input of a chunk
	ks        *kernelSet
}

func newWino(cin, cout int, in, out Tensor, ks *kernelSet) *wino {
	w := &wino{cin: cin, cout: cout, in: in, out: out, ks: ks}
	w.th, w.tw = (out.H+3)/4, (out.W+3)/4
	// A chunk's transformed input and output (36·(cin+cout) vectors per
	// tile) should stay well inside L2 with the tensors around them.
	w.g = max(1, min(w.tw, winoChunkBytes/(winoXi*(cin+cout)*Lanes*4)))
	w.nc = (w.tw + w.g - 1) / w.g
	w.tiles = tiles(cout, ks.fwdMax)
	for ci := range cin {
		w.offs = append(w.offs, int32(ci*winoXi*Lanes))
	}
	return w
}

func (w *wino) packedLen() int { return winoXi * w.cin * w.cout }

// scratchLen is the floats of one goroutine's working memory: the
// transformed input and output of a tile row, the transforms' scratch
// and an input tile across the stored edge.
func (w *wino) scratchLen() int {
	return (winoXi*(w.cin+w.cout)*w.g + winoXi + 36) * Lanes
}

// pack writes the transformed weights U = G·g·Gᵀ, computed in float64
// and rounded once, for every position ξ and output-channel tile: at
// ξ·cout·cin + c0·cin, input channel after input channel, the tile's
// channels side by side. The kernel g from input channel ci to output
// channel co of the computed convolution is read from w (OIHW): for the
// forward pass w[co][ci] scaled by scale[co] (nil: 1); for the backward
// data pass (flip) w[ci][co] rotated by 180°.
func (w *wino) pack(dst, wt, scale []float32, flip bool) {
	nxi := w.cout * w.cin
	// Kernels are gathered a tile of output channels at a time, the
	// channels side by side, transformed by vectors (ks.winoPack), for 8
	// input channels, then written position by position: writing 36
	// single values per kernel to places nxi apart (a multiple of 4 KiB,
	// as often) would make every write miss the cache.
	const cb, row = 8, 8*28 + 16
	var loc [winoXi * row]float32
	var g [9][32]float32
	for _, t := range w.tiles {
		r := t.n
		for ci0 := 0; ci0 < w.cin; ci0 += cb {
			nc := min(cb, w.cin-ci0)
			for ci := ci0; ci < ci0+nc; ci++ {
				for j := range r {
					co := t.c0 + j
					if flip {
						k := wt[(ci*w.cout+co)*9:][:9]
						for a := range 9 {
							g[a][j] = k[8-a]
						}
						continue
					}
					k := wt[(co*w.cin+ci)*9:][:9]
					s := float32(1)
					if scale != nil {
						s = scale[co]
					}
					for a := range 9 {
						g[a][j] = k[a] * s
					}
				}
				p := (ci - ci0) * r
				for l0 := 0; l0 < r; l0 += w.ks.winoPackLanes {
					winoPackAsm(w.ks.winoPack, &g[0][l0], 32, &loc[p+l0], row)
				}
			}
			base := t.c0*w.cin + ci0*r
			for xi := range winoXi {
				copy(dst[xi*nxi+base:][:nc*r], loc[xi*row:][:nc*r])
			}
		}
	}
}

// Scratch is a goroutine's working memory for the passes that need it
// (Winograd). The zero value is ready; it grows on first use.
type Scratch struct {
	buf []float32
}

func (s *Scratch) get(n int) []float32 {
	if len(s.buf) < n {
		// Vectors are read at multiples of 64 bytes from the start: align
		// it to a cache line.
		b := make([]float32, n+16)
		off := (64 - int(uintptr(unsafe.Pointer(&b[0]))%64)) % 64 / 4
		s.buf = b[off : off+n]
	}
	return s.buf[:n]
}

// chunk computes chunk c of tile row ty of block b: out = relu(conv(in)
// + bias + res) for the output rows 4·ty..4·ty+3 and the columns of the
// chunk's tiles.
func (w *wino) chunk(packed, in, out []float32, b, ty, c int, bias, res []float32, relu bool, sc *Scratch) {
	tw := w.g
	tx0, n := c*w.g, min(w.g, w.tw-c*w.g)
	buf := sc.get(w.scratchLen())
	V := buf[:winoXi*w.cin*tw*Lanes]
	M := buf[len(V):][:winoXi*w.cout*tw*Lanes]
	t := buf[len(V)+len(M):][:winoXi*Lanes]
	edgeIn := buf[len(V)+len(M)+len(t):][:36*Lanes]

	// Input transform: the 6×6 tile at padded (4·ty, 4·tx), the input
	// pixel (4·ty − 1, 4·tx − 1) (the border supplies the padding).
	in0 := b*w.in.Block() + (w.in.Pad-1)*(w.in.Wp()+1)*Lanes
	wp := w.in.Wp()
	for ci := range w.cin {
		plane := in0 + ci*w.in.Plane()
		for tx := range n {
			y0, x0 := 4*ty, 4*(tx0+tx)
			src, ld := plane+(y0*wp+x0)*Lanes, wp*Lanes
			var sp *float32
			if y0+6+w.in.Pad-1 <= w.in.Hp() && x0+6+w.in.Pad-1 <= wp {
				sp = &in[src]
			} else {
				w.gatherEdge(edgeIn, in, plane, y0, x0)
				sp, ld = &edgeIn[0], 6*Lanes
			}
			w.ks.winoIn(&V[(tx*w.cin+ci)*winoXi*Lanes], Lanes, sp, ld, &t[0])
		}
	}
	// The 36 products, output-channel tile by tile.
	for xi := range winoXi {
		for _, tl := range w.tiles {
			w.ks.fwd[tl.n](w.cin, &w.offs[0], &packed[xi*w.cout*w.cin+tl.c0*w.cin], &V[xi*Lanes],
				n, w.cin*winoXi*Lanes, &M[(tl.c0*winoXi+xi)*Lanes], w.cout*winoXi*Lanes, winoXi*Lanes, nil, nil, 0)
		}
	}
	// Output transform, bias, residual, ReLU.
	r := 0
	if relu {
		r = 1
	}
	owp := w.out.Wp() * Lanes
	for co := range w.cout {
		var bv float32
		if bias != nil {
			bv = bias[co]
		}
		plane := b*w.out.Block() + co*w.out.Plane()
		for tx := range n {
			oy, ox := 4*ty, 4*(tx0+tx)
			o := plane + w.out.Pixel(oy, ox)
			var rp *float32
			if res != nil {
				rp = &res[o]
			}
			w.ks.winoOut(&out[o], owp, &M[(tx*w.cout+co)*winoXi*Lanes], Lanes, bv, rp, owp, r, &t[0],
				min(4, w.out.H-oy), min(4, w.out.W-ox))
		}
	}
}

// gatherEdge copies into dst the 6×6 tile whose top-left pixel is padded
// (y0, x0) of the plane at plane (relative to the pixel one row and
// column inside the border), with zeros outside the stored plane.
func (w *wino) gatherEdge(dst, in []float32, plane, y0, x0 int) {
	clear(dst)
	wp := w.in.Wp()
	hmax, wmax := w.in.Hp()-(w.in.Pad-1), wp-(w.in.Pad-1) // stored rows and columns from the origin
	for y := range 6 {
		if y0+y >= hmax {
			break
		}
		n := min(6, wmax-x0)
		if n <= 0 {
			break
		}
		copy(dst[y*6*Lanes:][:n*Lanes], in[plane+((y0+y)*wp+x0)*Lanes:][:n*Lanes])
	}
}
