package pcr

import (
	"math"
	"math/rand/v2"
)

// Augmentation components.
const (
	AugCrop   = "crop"
	AugFlip   = "flip"
	AugJitter = "jitter"
)

// AugComponents lists every augmentation component, in the order they
// apply.
var AugComponents = []string{AugCrop, AugFlip, AugJitter}

// Augmenter draws PCR's augmented views of 1-channel images (torchvision's
// RandomResizedCrop, RandomHorizontalFlip and RandomApply(ColorJitter)),
// in float32 on values in [0, 1], without allocating.
type Augmenter struct {
	H, W int
	// Crop, Flip and Jitter switch the components.
	Crop, Flip, Jitter bool
	// ScaleMin is the smallest crop area as a fraction of the image (the
	// largest is 1); the aspect ratio is drawn log-uniformly in [3/4, 4/3].
	ScaleMin float64
	// FlipP is the probability of a horizontal flip; JitterP that of the
	// colour jitter; Brightness and Contrast its strengths (factors drawn
	// uniformly in [1−s, 1+s]).
	FlipP, JitterP       float64
	Brightness, Contrast float64
}

// Apply writes an augmented view of src (H×W values) into dst.
func (a *Augmenter) Apply(rng *rand.Rand, dst, src []float32) {
	H, W := a.H, a.W
	img := dst[:H*W]
	if a.Crop {
		top, left, h, w := a.cropBox(rng)
		ResizeBilinear(img, H, W, src, W, top, left, h, w)
	} else {
		copy(img, src[:H*W])
	}
	if a.Flip && rng.Float64() < a.FlipP {
		for r := range H {
			row := img[r*W : (r+1)*W]
			for i, j := 0, W-1; i < j; i, j = i+1, j-1 {
				row[i], row[j] = row[j], row[i]
			}
		}
	}
	if a.Jitter && rng.Float64() < a.JitterP {
		// torchvision applies brightness, contrast, saturation and hue in a
		// random order; on one channel only the first two act.
		bFirst := rng.IntN(2) == 0
		bf := 1 + a.Brightness*(2*rng.Float64()-1)
		cf := 1 + a.Contrast*(2*rng.Float64()-1)
		if bFirst {
			Brightness(img, bf)
			Contrast(img, cf)
		} else {
			Contrast(img, cf)
			Brightness(img, bf)
		}
	}
}

// cropBox draws torchvision's RandomResizedCrop box: up to 10 attempts at
// an area fraction in [ScaleMin, 1] and a log-uniform aspect ratio in
// [3/4, 4/3], then the central crop of the clamped ratio.
func (a *Augmenter) cropBox(rng *rand.Rand) (top, left, h, w int) {
	H, W := a.H, a.W
	area := float64(H * W)
	lo, hi := math.Log(3.0/4), math.Log(4.0/3)
	for range 10 {
		target := area * (a.ScaleMin + (1-a.ScaleMin)*rng.Float64())
		ratio := math.Exp(lo + (hi-lo)*rng.Float64())
		w = int(math.Round(math.Sqrt(target * ratio)))
		h = int(math.Round(math.Sqrt(target / ratio)))
		if w > 0 && w <= W && h > 0 && h <= H {
			return rng.IntN(H - h + 1), rng.IntN(W - w + 1), h, w
		}
	}
	in := float64(W) / float64(H)
	switch {
	case in < 3.0/4:
		w = W
		h = int(math.Round(float64(w) / (3.0 / 4)))
	case in > 4.0/3:
		h = H
		w = int(math.Round(float64(h) * 4.0 / 3))
	default:
		w, h = W, H
	}
	return (H - h) / 2, (W - w) / 2, h, w
}

// ResizeBilinear writes into dst (H×W) the h×w box of src (row stride
// stride) at (top, left) resized by bilinear interpolation with half-pixel
// centres and edge clamping (PIL's and PyTorch's align_corners=False for
// enlargements).
func ResizeBilinear(dst []float32, H, W int, src []float32, stride, top, left, h, w int) {
	sy, sx := float64(h)/float64(H), float64(w)/float64(W)
	for r := range H {
		y := (float64(r)+0.5)*sy - 0.5
		y = min(max(y, 0), float64(h-1))
		y0 := int(y)
		y1 := min(y0+1, h-1)
		fy := float32(y - float64(y0))
		for c := range W {
			x := (float64(c)+0.5)*sx - 0.5
			x = min(max(x, 0), float64(w-1))
			x0 := int(x)
			x1 := min(x0+1, w-1)
			fx := float32(x - float64(x0))
			p00 := src[(top+y0)*stride+left+x0]
			p01 := src[(top+y0)*stride+left+x1]
			p10 := src[(top+y1)*stride+left+x0]
			p11 := src[(top+y1)*stride+left+x1]
			dst[r*W+c] = (1-fy)*((1-fx)*p00+fx*p01) + fy*((1-fx)*p10+fx*p11)
		}
	}
}

// Brightness scales the image by f, clamped to [0, 1] (torchvision's
// adjust_brightness).
func Brightness(img []float32, f float64) {
	for i, v := range img {
		img[i] = clamp01(float32(f) * v)
	}
}

// Contrast blends the image with its mean by f: f·x + (1−f)·mean, clamped
// to [0, 1] (torchvision's adjust_contrast on one channel).
func Contrast(img []float32, f float64) {
	mean := 0.0
	for _, v := range img {
		mean += float64(v)
	}
	mean /= float64(len(img))
	ff, m := float32(f), float32((1-f)*mean)
	for i, v := range img {
		img[i] = clamp01(ff*v + m)
	}
}

func clamp01(v float32) float32 { return min(max(v, 0), 1) }
