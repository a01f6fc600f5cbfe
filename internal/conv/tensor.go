package conv

import "fmt"

// Lanes is the number of samples in a block: one AVX-512 vector, two AVX2
// vectors.
const Lanes = 16

// Tensor is the geometry of a blocked activation. Samples are stored in
// blocks of Lanes; a block holds C planes, channel after channel, of
// (H+2·Pad)×(W+2·Pad) pixels, row after row, each pixel being the Lanes
// values of the block's samples side by side. The border of Pad pixels
// around each plane is zero (the zero padding of the convolutions that
// read the tensor): operations write interior pixels only, so a border
// stays zero as long as the buffer is used with one geometry. Extra rows
// and columns of zeros beyond the bottom and right borders let Winograd
// tiles that run past the map's edge be read in place.
type Tensor struct {
	C, H, W, Pad int
	Extra        int
}

// Hp returns the stored height, H+2·Pad+Extra.
func (t Tensor) Hp() int { return t.H + 2*t.Pad + t.Extra }

// Wp returns the stored width, W+2·Pad+Extra.
func (t Tensor) Wp() int { return t.W + 2*t.Pad + t.Extra }

// Plane returns the number of floats of one channel of one block.
func (t Tensor) Plane() int { return t.Hp() * t.Wp() * Lanes }

// Block returns the number of floats of one block.
func (t Tensor) Block() int { return t.C * t.Plane() }

// Len returns the number of floats of nb blocks.
func (t Tensor) Len(nb int) int { return nb * t.Block() }

// Pixel returns the offset of interior pixel (y, x) (lane 0) in a plane.
func (t Tensor) Pixel(y, x int) int { return ((y+t.Pad)*t.Wp() + x + t.Pad) * Lanes }

// Index returns the offset of the value of lane l, block b, channel c,
// interior pixel (y, x).
func (t Tensor) Index(b, c, y, x, l int) int {
	return b*t.Block() + c*t.Plane() + t.Pixel(y, x) + l
}

func (t Tensor) String() string {
	return fmt.Sprintf("%d×%d×%d (pad %d)", t.C, t.H, t.W, t.Pad)
}

// WinogradExtra returns the Extra that lets every 6×6 input tile of a
// Winograd layer reading a map of h×w (pad ≥ 1) be read in place.
func WinogradExtra(h, w int) int { return max((4-h%4)%4, (4-w%4)%4) }

// Blocks returns the number of blocks that hold n samples.
func Blocks(n int) int { return (n + Lanes - 1) / Lanes }

// Scatter writes sample src (C·H·W values in channel, row, column order)
// into lane l of block b of dst.
func (t Tensor) Scatter(dst []float32, b, l int, src []float32) {
	hw := t.H * t.W
	if len(src) < t.C*hw || l < 0 || l >= Lanes {
		panic("conv: Scatter: short sample or bad lane")
	}
	base := b*t.Block() + l
	for c := range t.C {
		p := base + c*t.Plane()
		s := src[c*hw : (c+1)*hw]
		for y := range t.H {
			row := s[y*t.W : (y+1)*t.W]
			o := p + t.Pixel(y, 0)
			d := dst[o : o+(t.W-1)*Lanes+1]
			for x, v := range row {
				d[x*Lanes] = v
			}
		}
	}
}

// Gather reads lane l of block b of src into dst (C·H·W values in
// channel, row, column order).
func (t Tensor) Gather(dst []float32, src []float32, b, l int) {
	hw := t.H * t.W
	base := b*t.Block() + l
	for c := range t.C {
		p := base + c*t.Plane()
		d := dst[c*hw : (c+1)*hw]
		for y := range t.H {
			o := p + t.Pixel(y, 0)
			s := src[o : o+(t.W-1)*Lanes+1]
			row := d[y*t.W : (y+1)*t.W]
			for x := range row {
				row[x] = s[x*Lanes]
			}
		}
	}
}

// ClearLane sets lane l of every interior pixel of block b to zero.
func (t Tensor) ClearLane(dst []float32, b, l int) {
	base := b*t.Block() + l
	for c := range t.C {
		p := base + c*t.Plane()
		for y := range t.H {
			o := p + t.Pixel(y, 0)
			d := dst[o : o+(t.W-1)*Lanes+1]
			for x := range t.W {
				d[x*Lanes] = 0
			}
		}
	}
}
