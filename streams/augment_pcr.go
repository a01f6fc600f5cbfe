package streams

import (
	"fmt"
	"math"
	"math/rand/v2"
)

// AugPCR names PCRAugment with its default parameters in NewAugmenter.
const AugPCR = "pcr"

// PCRAugment is the augmentation of PCR (Lin et al. 2023, after SCR): the
// torchvision pipeline
//
//	RandomResizedCrop(size=(H, W), scale=(0.2, 1), ratio=(3/4, 4/3))  # bilinear
//	RandomHorizontalFlip()
//	RandomApply([ColorJitter(0.4, 0.4, 0.4, 0.1)], p=0.8)
//	RandomGrayscale(p=0.2)
//
// on float32 CHW samples in [0, 1], with the semantics of torchvision's
// tensor functions (resized_crop with bilinear interpolation and
// align_corners=False; adjust_brightness, adjust_contrast,
// adjust_saturation and adjust_hue, each clamping to [0, 1] like
// torchvision's blends; rgb_to_grayscale with weights 0.2989, 0.587,
// 0.114). Images have 1 or 3 channels. On one channel the colour
// operations that do not apply are the identity, as in torchvision:
// saturation, hue and grayscale; brightness and contrast (against the
// image's mean) apply.
//
// Differences from PCR's code, which runs these transforms on PIL images:
// no uint8 rounding between the steps (PIL stores each intermediate image
// as bytes), PIL's enhancement and HSV formulas are replaced by
// torchvision's tensor ones (contrast against the mean grey level as a
// float, not rounded to an integer; hue in float HSV, not in 8-bit HSV),
// the contrast mean is summed in float64, and the random numbers come from
// the caller's generator in the order of SampleParams, not from PyTorch's.
// The crop is never larger than the image, so the bilinear resize only
// enlarges, where torchvision's antialiasing changes nothing.
type PCRAugment struct {
	Shape Shape
	// Scale bounds the crop's area as a fraction of the image's; Ratio its
	// aspect ratio (width / height).
	Scale, Ratio [2]float64
	// Brightness, Contrast and Saturation are the jitter strengths: the
	// factors are uniform in [max(0, 1-x), 1+x]; Hue is uniform in
	// [-Hue, Hue] (fractions of a turn).
	Brightness, Contrast, Saturation, Hue float64
	// JitterP is the probability of the colour jitter, GrayP that of the
	// conversion to grey.
	JitterP, GrayP float64
}

// NewPCRAugment returns PCR's augmentation for samples of the given shape
// (1 or 3 channels): scale (0.2, 1), ratio (3/4, 4/3), jitter 0.4, 0.4,
// 0.4, 0.1 with probability 0.8, grey with probability 0.2.
func NewPCRAugment(shape Shape) (PCRAugment, error) {
	if shape.C != 1 && shape.C != 3 || shape.H < 1 || shape.W < 1 {
		return PCRAugment{}, fmt.Errorf("streams: augmentation %s: samples of shape %v: want images of 1 or 3 channels", AugPCR, shape)
	}
	return PCRAugment{Shape: shape, Scale: [2]float64{0.2, 1}, Ratio: [2]float64{3.0 / 4, 4.0 / 3},
		Brightness: 0.4, Contrast: 0.4, Saturation: 0.4, Hue: 0.1, JitterP: 0.8, GrayP: 0.2}, nil
}

// PCRParams are the random choices of PCRAugment for one sample.
type PCRParams struct {
	// Top, Left, H and W are the crop in the source image.
	Top, Left, H, W int
	Flip            bool
	// Jitter says whether the colour jitter applies; Order is the order of
	// its operations (0 brightness, 1 contrast, 2 saturation, 3 hue) and
	// B, C, S and Hue their factors.
	Jitter      bool
	Order       [4]int
	B, C, S, Hu float32
	Gray        bool
}

// Colour jitter operations, the values of PCRParams.Order.
const (
	jitterBrightness = iota
	jitterContrast
	jitterSaturation
	jitterHue
)

// SampleParams draws the choices for one sample, in torchvision's order:
//
//  1. the crop, as RandomResizedCrop.get_params: up to 10 attempts, each
//     drawing the area fraction uniform in Scale (rng.Float64) and the log
//     of the aspect ratio uniform in log(Ratio), the width and height
//     rounded half to even (Python's round); the first crop that fits
//     draws its top row rng.IntN(H-h+1), then its left column
//     rng.IntN(W-w+1). When none fits, the central crop of the largest
//     size within Ratio (no draw);
//  2. the flip: rng.Float64() < 0.5;
//  3. the jitter: rng.Float64() < JitterP; when it applies, the order of
//     its four operations (a Fisher–Yates shuffle, as Shuffle), then the
//     brightness, contrast and saturation factors and the hue shift,
//     uniform (rng.Float64);
//  4. the grey conversion: rng.Float64() < GrayP.
//
// Every draw happens whatever the number of channels.
func (a PCRAugment) SampleParams(rng *rand.Rand) PCRParams {
	var p PCRParams
	H, W := a.Shape.H, a.Shape.W
	area := float64(H * W)
	lr0, lr1 := math.Log(a.Ratio[0]), math.Log(a.Ratio[1])
	found := false
	for range 10 {
		target := area * (a.Scale[0] + (a.Scale[1]-a.Scale[0])*rng.Float64())
		aspect := math.Exp(lr0 + (lr1-lr0)*rng.Float64())
		w := int(math.RoundToEven(math.Sqrt(target * aspect)))
		h := int(math.RoundToEven(math.Sqrt(target / aspect)))
		if 0 < w && w <= W && 0 < h && h <= H {
			p.Top = rng.IntN(H - h + 1)
			p.Left = rng.IntN(W - w + 1)
			p.H, p.W = h, w
			found = true
			break
		}
	}
	if !found {
		inRatio := float64(W) / float64(H)
		switch {
		case inRatio < a.Ratio[0]:
			p.W, p.H = W, int(math.RoundToEven(float64(W)/a.Ratio[0]))
		case inRatio > a.Ratio[1]:
			p.H, p.W = H, int(math.RoundToEven(float64(H)*a.Ratio[1]))
		default:
			p.H, p.W = H, W
		}
		p.Top, p.Left = (H-p.H)/2, (W-p.W)/2
	}
	p.Flip = rng.Float64() < 0.5
	p.Jitter = rng.Float64() < a.JitterP
	if p.Jitter {
		p.Order = [4]int{0, 1, 2, 3}
		for i := 3; i > 0; i-- {
			j := rng.IntN(i + 1)
			p.Order[i], p.Order[j] = p.Order[j], p.Order[i]
		}
		factor := func(x float64) float32 {
			lo := max(0, 1-x)
			return float32(lo + (1+x-lo)*rng.Float64())
		}
		p.B = factor(a.Brightness)
		p.C = factor(a.Contrast)
		p.S = factor(a.Saturation)
		p.Hu = float32(-a.Hue + 2*a.Hue*rng.Float64())
	}
	p.Gray = rng.Float64() < a.GrayP
	return p
}

// Augment implements Augmenter: for each sample in turn it draws the
// parameters (SampleParams) and applies them (Apply). It panics when dst
// or src holds fewer than n samples, or when they start at the same
// element.
func (a PCRAugment) Augment(dst, src []float32, n int, rng *rand.Rand) {
	dim := a.Shape.Dim()
	if len(dst) < n*dim || len(src) < n*dim {
		panic(fmt.Sprintf("streams: PCRAugment.Augment: %d samples of %v need %d values, dst has %d, src %d", n, a.Shape, n*dim, len(dst), len(src)))
	}
	if n > 0 && &dst[0] == &src[0] {
		panic("streams: PCRAugment.Augment: dst and src are the same buffer (augmentation is never in place)")
	}
	for i := range n {
		a.Apply(dst[i*dim:(i+1)*dim], src[i*dim:(i+1)*dim], a.SampleParams(rng))
	}
}

// Apply writes into dst the sample src transformed with the choices p:
// the crop resized to H×W (bilinear, align_corners=False), mirrored when
// p.Flip, then the colour jitter when p.Jitter (its operations in
// p.Order), then the grey conversion when p.Gray. dst and src hold one
// sample each and must not overlap.
func (a PCRAugment) Apply(dst, src []float32, p PCRParams) {
	C, H, W := a.Shape.C, a.Shape.H, a.Shape.W
	if p.H < 1 || p.W < 1 || p.Top < 0 || p.Left < 0 || p.Top+p.H > H || p.Left+p.W > W {
		panic(fmt.Sprintf("streams: PCRAugment.Apply: crop %d×%d at (%d, %d) outside the %d×%d image", p.H, p.W, p.Top, p.Left, H, W))
	}
	dst, src = dst[:C*H*W], src[:C*H*W]
	resizedCrop(dst, src, a.Shape, p)
	if p.Jitter {
		for _, op := range p.Order {
			switch op {
			case jitterBrightness:
				blendConst(dst, p.B, 0)
			case jitterContrast:
				blendConst(dst, p.C, meanGray(dst, a.Shape))
			case jitterSaturation:
				if C == 3 {
					saturate(dst, H*W, p.S)
				}
			case jitterHue:
				if C == 3 {
					shiftHue(dst, H*W, p.Hu)
				}
			}
		}
	}
	if p.Gray && C == 3 {
		gray(dst, H*W)
	}
}

// sourceCoord returns, for output index i of a resize of in values with
// scale = in/out, the two source indices and the weight of the second, as
// PyTorch's bilinear interpolation with align_corners=False: the source
// coordinate (i+0.5)·scale − 0.5, clamped below at 0.
func sourceCoord(i, in int, scale float32) (i0, i1 int, l float32) {
	x := scale*(float32(i)+0.5) - 0.5
	if x < 0 {
		x = 0
	}
	i0 = int(x)
	if i0 > in-1 {
		i0 = in - 1
	}
	i1 = i0 + 1
	if i1 > in-1 {
		i1 = in - 1
	}
	return i0, i1, x - float32(i0)
}

// resizedCrop writes the crop of p resized to the image's size into dst,
// mirrored left to right when p.Flip.
func resizedCrop(dst, src []float32, s Shape, p PCRParams) {
	H, W := s.H, s.W
	sy, sx := float32(p.H)/float32(H), float32(p.W)/float32(W)
	for c := range s.C {
		plane := src[c*H*W : (c+1)*H*W]
		out := dst[c*H*W : (c+1)*H*W]
		for y := range H {
			y0, y1, ly := sourceCoord(y, p.H, sy)
			r0 := plane[(p.Top+y0)*W+p.Left : (p.Top+y0)*W+p.Left+p.W]
			r1 := plane[(p.Top+y1)*W+p.Left : (p.Top+y1)*W+p.Left+p.W]
			row := out[y*W : (y+1)*W]
			for x := range row {
				xs := x
				if p.Flip {
					xs = W - 1 - x
				}
				x0, x1, lx := sourceCoord(xs, p.W, sx)
				row[x] = (1-ly)*((1-lx)*r0[x0]+lx*r0[x1]) + ly*((1-lx)*r1[x0]+lx*r1[x1])
			}
		}
	}
}

func clamp01(v float32) float32 {
	if v < 0 {
		return 0
	}
	if v > 1 {
		return 1
	}
	return v
}

// blendConst sets every value v to clamp(f·v + (1−f)·m): brightness
// (m = 0) and contrast (m = the mean grey level).
func blendConst(x []float32, f, m float32) {
	k := (1 - f) * m
	for i, v := range x {
		x[i] = clamp01(f*v + k)
	}
}

// grayOf is torchvision's rgb_to_grayscale of one pixel.
func grayOf(r, g, b float32) float32 { return 0.2989*r + 0.587*g + 0.114*b }

// meanGray returns the mean grey level of the image: of its grey
// conversion for 3 channels, of its values for 1.
func meanGray(x []float32, s Shape) float32 {
	hw := s.H * s.W
	var sum float64
	if s.C == 3 {
		r, g, b := x[:hw], x[hw:2*hw], x[2*hw:3*hw]
		for i := range hw {
			sum += float64(grayOf(r[i], g[i], b[i]))
		}
	} else {
		for _, v := range x {
			sum += float64(v)
		}
	}
	return float32(sum / float64(hw))
}

// saturate blends each pixel of a 3-channel image with its grey level:
// clamp(f·v + (1−f)·grey).
func saturate(x []float32, hw int, f float32) {
	r, g, b := x[:hw], x[hw:2*hw], x[2*hw:3*hw]
	for i := range hw {
		l := (1 - f) * grayOf(r[i], g[i], b[i])
		r[i] = clamp01(f*r[i] + l)
		g[i] = clamp01(f*g[i] + l)
		b[i] = clamp01(f*b[i] + l)
	}
}

// gray replaces each pixel of a 3-channel image by its grey level in all
// three channels.
func gray(x []float32, hw int) {
	r, g, b := x[:hw], x[hw:2*hw], x[2*hw:3*hw]
	for i := range hw {
		l := grayOf(r[i], g[i], b[i])
		r[i], g[i], b[i] = l, l, l
	}
}

// shiftHue adds shift (a fraction of a turn) to the hue of every pixel of
// a 3-channel image, through torchvision's float RGB↔HSV conversions.
func shiftHue(x []float32, hw int, shift float32) {
	r, g, b := x[:hw], x[hw:2*hw], x[2*hw:3*hw]
	for i := range hw {
		h, s, v := rgbToHSV(r[i], g[i], b[i])
		h = fmod1(h + shift)
		r[i], g[i], b[i] = hsvToRGB(h, s, v)
	}
}

// fmod1 returns v mod 1 in [0, 1) (Python's %, as torch's remainder).
func fmod1(v float32) float32 {
	v -= float32(math.Floor(float64(v)))
	if v >= 1 {
		v = 0
	}
	return v
}

// rgbToHSV is torchvision's _rgb2hsv for one pixel: hue in [0, 1).
func rgbToHSV(r, g, b float32) (h, s, v float32) {
	maxc := max(r, g, b)
	minc := min(r, g, b)
	cr := maxc - minc
	if cr == 0 {
		return 0, 0, maxc
	}
	s = cr / maxc
	rc, gc, bc := (maxc-r)/cr, (maxc-g)/cr, (maxc-b)/cr
	switch {
	case maxc == r:
		h = bc - gc
	case maxc == g:
		h = 2 + rc - bc
	default:
		h = 4 + gc - rc
	}
	h = h/6 + 1
	h -= float32(math.Floor(float64(h)))
	return h, s, maxc
}

// hsvToRGB is torchvision's _hsv2rgb for one pixel.
func hsvToRGB(h, s, v float32) (r, g, b float32) {
	fi := float32(math.Floor(float64(h * 6)))
	f := h*6 - fi
	p := clamp01(v * (1 - s))
	q := clamp01(v * (1 - s*f))
	t := clamp01(v * (1 - s*(1-f)))
	switch ((int(fi) % 6) + 6) % 6 {
	case 0:
		return v, t, p
	case 1:
		return q, v, p
	case 2:
		return p, v, t
	case 3:
		return p, q, v
	case 4:
		return t, p, v
	}
	return v, p, q
}
