package datasets

import (
	"fmt"
	"math"
	"math/rand/v2"
)

// PixelMap is a fixed resampling of one sample: value k of the transformed
// sample is a weighted sum of at most Taps values of the original,
//
//	out[k] = Σ_{j<Taps} W[k*Taps+j]/65536 · in[Src[k*Taps+j]],
//
// rounded to the nearest level (halves up) for uint8 pixels, so that the
// transformed sample is again uint8; float32 features get the unrounded
// sum. A permutation has one tap of weight 1 per value (W is nil); a
// bilinear rotation has four. The weights of a value sum to at most 65536
// (less where the source falls outside the image, which is zero-padded).
//
// The domain-incremental streams (permuted and rotated MNIST) apply a
// PixelMap when a batch is gathered (GatherMapped) instead of storing a
// transformed copy of the dataset per experience: 20 rotated copies of
// MNIST would hold 1.1 GB of pixels, the maps hold 784·4 taps each, and the
// gathered values are bit-identical to those of a stored uint8 copy (the
// rounding happens before the /255 scaling). A PixelMap is read-only once
// built and safe for concurrent use.
type PixelMap struct {
	// Name describes the transformation, e.g. "rotate 80°".
	Name string
	// Dim is the number of values of a sample, in and out.
	Dim int
	// Taps is the number of source values per output value: 1 or 4.
	Taps int
	// Src holds Dim*Taps source indices in [0, Dim).
	Src []int32
	// W holds Dim*Taps weights in units of 1/65536; nil when Taps is 1
	// (every weight is 1).
	W []uint32
}

// PermutationMap returns the map out[k] = in[perm[k]]. It panics when perm
// is not a permutation of 0..len(perm)-1.
func PermutationMap(name string, perm []int32) *PixelMap {
	seen := make([]bool, len(perm))
	for _, p := range perm {
		if p < 0 || int(p) >= len(perm) || seen[p] {
			panic(fmt.Sprintf("datasets: PermutationMap: %v is not a permutation", perm))
		}
		seen[p] = true
	}
	return &PixelMap{Name: name, Dim: len(perm), Taps: 1, Src: append([]int32(nil), perm...)}
}

// RandomPermutationMap returns a uniformly random permutation of dim values
// drawn with rng (Fisher–Yates from the end, as streams.Shuffle).
func RandomPermutationMap(name string, dim int, rng *rand.Rand) *PixelMap {
	perm := make([]int32, dim)
	for i := range perm {
		perm[i] = int32(i)
	}
	for i := dim - 1; i > 0; i-- {
		j := rng.IntN(i + 1)
		perm[i], perm[j] = perm[j], perm[i]
	}
	return &PixelMap{Name: name, Dim: dim, Taps: 1, Src: perm}
}

// RandomImagePermutationMap returns a permutation of the pixel positions
// of images of c channels of hw pixels each (stored channel by channel):
// one uniformly random permutation perm of the hw positions, drawn with
// rng as RandomPermutationMap draws it, moves the pixel at position
// perm[k] to position k in every channel, so that the c values of a pixel
// stay together. With c = 1 it is RandomPermutationMap(name, hw, rng).
func RandomImagePermutationMap(name string, c, hw int, rng *rand.Rand) *PixelMap {
	m := RandomPermutationMap(name, hw, rng)
	return m.channels(c)
}

// channels returns m applied to each of c channels of m.Dim values (m
// itself when c is 1).
func (m *PixelMap) channels(c int) *PixelMap {
	if c == 1 {
		return m
	}
	out := &PixelMap{Name: m.Name, Dim: c * m.Dim, Taps: m.Taps, Src: make([]int32, 0, c*len(m.Src))}
	for ch := range c {
		off := int32(ch * m.Dim)
		for _, s := range m.Src {
			out.Src = append(out.Src, s+off)
		}
		if m.W != nil {
			out.W = append(out.W, m.W...)
		}
	}
	return out
}

// RotationMapCHW returns the bilinear rotation of RotationMap(h, w,
// degrees) applied to each of the c channels of a c×h×w image (stored
// channel by channel). With c = 1 it is RotationMap(h, w, degrees).
func RotationMapCHW(c, h, w int, degrees float64) *PixelMap {
	if c <= 0 {
		panic(fmt.Sprintf("datasets: RotationMapCHW(%d, %d, %d, %v): bad arguments", c, h, w, degrees))
	}
	return RotationMap(h, w, degrees).channels(c)
}

// RotationMap returns the bilinear rotation of an h×w image by degrees
// counter-clockwise (as displayed, rows top to bottom) about its centre
// ((w-1)/2, (h-1)/2), with zero padding: the convention of torchvision's
// rotate (which, by default, uses nearest-neighbour sampling instead).
//
// Output pixel (r, c) samples the original at
//
//	x = cx + (c-cx)·cos θ − (r-cy)·sin θ,  y = cy + (c-cx)·sin θ + (r-cy)·cos θ
//
// with bilinear weights quantized to 1/65536 (summing to 1 inside the
// image). Multiples of 90° use exact sines and cosines, so a rotation by 0°
// is the identity and one by 90° on a square image is an exact permutation
// of the pixels.
func RotationMap(h, w int, degrees float64) *PixelMap {
	if h <= 0 || w <= 0 || math.IsNaN(degrees) || math.IsInf(degrees, 0) {
		panic(fmt.Sprintf("datasets: RotationMap(%d, %d, %v): bad arguments", h, w, degrees))
	}
	sin, cos := exactSincos(degrees)
	m := &PixelMap{Name: fmt.Sprintf("rotate %g°", degrees), Dim: h * w, Taps: 4,
		Src: make([]int32, 4*h*w), W: make([]uint32, 4*h*w)}
	cx, cy := float64(w-1)/2, float64(h-1)/2
	for r := range h {
		for c := range w {
			dx, dy := float64(c)-cx, float64(r)-cy
			sx := cx + dx*cos - dy*sin
			sy := cy + dx*sin + dy*cos
			x0, fx := splitCoord(sx)
			y0, fy := splitCoord(sy)
			xs := [4]int{x0, x0 + 1, x0, x0 + 1}
			ys := [4]int{y0, y0, y0 + 1, y0 + 1}
			ws := [4]float64{(1 - fx) * (1 - fy), fx * (1 - fy), (1 - fx) * fy, fx * fy}
			var q [4]uint32
			sum, big := uint32(0), 0
			for j := range 4 {
				q[j] = uint32(math.Round(ws[j] * 65536))
				sum += q[j]
				if ws[j] > ws[big] {
					big = j
				}
			}
			q[big] = q[big] + 65536 - sum // weights of a pixel sum to exactly 1
			k := r*w + c
			for j := range 4 {
				if xs[j] < 0 || xs[j] >= w || ys[j] < 0 || ys[j] >= h || q[j] == 0 {
					continue // zero padding: Src 0 with weight 0
				}
				m.Src[4*k+j] = int32(ys[j]*w + xs[j])
				m.W[4*k+j] = q[j]
			}
		}
	}
	return m
}

// exactSincos returns sin and cos of degrees, exactly 0 and ±1 at
// multiples of 90°.
func exactSincos(degrees float64) (sin, cos float64) {
	a := math.Mod(degrees, 360)
	if a < 0 {
		a += 360
	}
	switch a {
	case 0:
		return 0, 1
	case 90:
		return 1, 0
	case 180:
		return 0, -1
	case 270:
		return -1, 0
	}
	return math.Sincos(a * math.Pi / 180)
}

// splitCoord returns floor(v) and the fraction, snapping fractions within
// 1e-9 of an integer to it so that rounding noise does not create taps.
func splitCoord(v float64) (int, float64) {
	f := math.Floor(v)
	frac := v - f
	switch {
	case frac < 1e-9:
		frac = 0
	case frac > 1-1e-9:
		f++
		frac = 0
	}
	return int(f), frac
}

// check panics when m does not fit samples of dim values.
func (m *PixelMap) check(dim int) {
	if m.Dim != dim || len(m.Src) != dim*m.Taps || (m.Taps != 1 && len(m.W) != len(m.Src)) {
		panic(fmt.Sprintf("datasets: PixelMap %q (Dim %d, %d taps) does not fit samples of %d values", m.Name, m.Dim, m.Taps, dim))
	}
}

// Apply writes the transformed uint8 sample src into dst (both Dim long).
func (m *PixelMap) Apply(dst, src []uint8) {
	m.check(len(src))
	dst = dst[:m.Dim]
	if m.Taps == 1 {
		for k, s := range m.Src {
			dst[k] = src[s]
		}
		return
	}
	for k := range dst {
		dst[k] = m.tap4(src, k)
	}
}

// tap4 returns the rounded 4-tap value k of the uint8 sample src.
func (m *PixelMap) tap4(src []uint8, k int) uint8 {
	s := (*[4]int32)(m.Src[4*k:])
	w := (*[4]uint32)(m.W[4*k:])
	v := w[0]*uint32(src[s[0]]) + w[1]*uint32(src[s[1]]) + w[2]*uint32(src[s[2]]) + w[3]*uint32(src[s[3]])
	return uint8((v + 1<<15) >> 16)
}

// pixels writes the transformed sample src, scaled by 1/255, into row.
func (m *PixelMap) pixels(row []float32, src []uint8) {
	if m.Taps == 1 {
		s := m.Src[:len(row)]
		for k := range row {
			row[k] = pixelScale[src[s[k]]]
		}
		return
	}
	for k := range row {
		row[k] = pixelScale[m.tap4(src, k)]
	}
}

// features writes the transformed float32 sample src into row.
func (m *PixelMap) features(row, src []float32) {
	if m.Taps == 1 {
		s := m.Src[:len(row)]
		for k := range row {
			row[k] = src[s[k]]
		}
		return
	}
	for k := range row {
		s := m.Src[4*k : 4*k+4 : 4*k+4]
		w := m.W[4*k : 4*k+4 : 4*k+4]
		var v float32
		for j := range 4 {
			if w[j] != 0 {
				v += float32(w[j]) / 65536 * src[s[j]]
			}
		}
		row[k] = v
	}
}

// GatherMapped is Gather with every sample transformed by m first (nil m:
// plain Gather). It does not allocate.
func (d *Dataset) GatherMapped(dst []float32, ys []int32, idx []int32, m *PixelMap) {
	if m == nil {
		d.Gather(dst, ys, idx)
		return
	}
	dim := d.Dim()
	m.check(dim)
	if len(dst) < len(idx)*dim {
		panic(fmt.Sprintf("datasets: GatherMapped: len(dst) = %d < len(idx)*Dim = %d*%d", len(dst), len(idx), dim))
	}
	if ys != nil && len(ys) < len(idx) {
		panic(fmt.Sprintf("datasets: GatherMapped: len(ys) = %d < len(idx) = %d", len(ys), len(idx)))
	}
	switch {
	case d.Pixels != nil:
		for i, j := range idx {
			m.pixels(dst[i*dim:i*dim+dim], d.Pixels[int(j)*dim:int(j)*dim+dim])
		}
	case d.Features != nil:
		for i, j := range idx {
			m.features(dst[i*dim:i*dim+dim], d.Features[int(j)*dim:int(j)*dim+dim])
		}
	case len(idx) > 0 && dim > 0:
		panic("datasets: GatherMapped: dataset " + d.Name + " has neither Pixels nor Features")
	}
	if ys != nil {
		for i, j := range idx {
			ys[i] = d.Labels[j]
		}
	}
}
