package streams

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
)

// Augmenter transforms training samples (data augmentation). Augment
// writes the augmented version of each of the n rows of src (float32
// samples of the augmenter's shape, CHW) into the same row of dst, drawing
// every random choice from rng, and allocates nothing. dst and src must
// not overlap: the same batch may be augmented again for the next update.
// Augmenting rows [0, k) and then [k, n) in two calls with one generator
// gives exactly the result of one call on [0, n): each sample draws its
// values in turn.
type Augmenter interface {
	Augment(dst, src []float32, n int, rng *rand.Rand)
}

// Names of the augmentations NewAugmenter knows.
const (
	// AugCropFlip is CropFlip with 4 pixels of padding: the augmentation of
	// the CIFAR experiments of continual learning.
	AugCropFlip = "crop-flip"
)

// Augmentations lists the names NewAugmenter accepts.
var Augmentations = []string{AugCropFlip, AugPCR}

// NewAugmenter returns the named augmentation for samples of the given
// shape: AugCropFlip, CropFlip{Shape: shape, Pad: 4}; AugPCR,
// NewPCRAugment(shape) (images of 1 or 3 channels).
func NewAugmenter(name string, shape Shape) (Augmenter, error) {
	if shape.C < 1 || shape.H < 1 || shape.W < 1 {
		return nil, fmt.Errorf("streams: augmentation %s: bad sample shape %v", name, shape)
	}
	switch name {
	case AugCropFlip:
		return CropFlip{Shape: shape, Pad: 4}, nil
	case AugPCR:
		a, err := NewPCRAugment(shape)
		if err != nil {
			return nil, err
		}
		return a, nil
	}
	return nil, fmt.Errorf("streams: unknown augmentation %q (known: %s)", name, strings.Join(slices.Sorted(slices.Values(Augmentations)), ", "))
}

// CropFlip is the random crop with zero padding and horizontal flip of
// image training (torchvision's RandomCrop(size, padding=Pad) followed by
// RandomHorizontalFlip()), drawn per sample. For each sample, in this
// order:
//
//	dy := rng.IntN(2*Pad + 1)  // row offset of the crop in the padded image
//	dx := rng.IntN(2*Pad + 1)  // column offset
//	flip := rng.IntN(2) == 1   // horizontal flip with probability 1/2
//
// and the output is the H×W window at (dy, dx) of the image padded with Pad
// zeros on each side, mirrored left to right when flip is set:
//
//	out[c][y][x] = padded[c][dy+y][dx+x']  with x' = W-1-x if flip, else x,
//
// where padded[c][i][j] is in[c][i-Pad][j-Pad] inside the image and 0
// outside. dy = dx = Pad is the image itself. The offsets are uniform over
// 0..2·Pad and the flip has probability 1/2 as in PyTorch (torch.randint
// and torch.rand(n) < 0.5), from a different generator and in a different
// order (PyTorch draws every row offset of the batch, then every column
// offset, then every flip).
type CropFlip struct {
	Shape Shape
	// Pad is the zero padding on each side, >= 0 (4 for CIFAR).
	Pad int
}

// Augment implements Augmenter: it draws dy, dx and flip for each sample
// in turn (see CropFlip) and writes the sample with Sample. It panics when
// dst or src holds fewer than n samples, or when they start at the same
// element.
func (a CropFlip) Augment(dst, src []float32, n int, rng *rand.Rand) {
	dim := a.Shape.Dim()
	if len(dst) < n*dim || len(src) < n*dim {
		panic(fmt.Sprintf("streams: CropFlip.Augment: %d samples of %v need %d values, dst has %d, src %d", n, a.Shape, n*dim, len(dst), len(src)))
	}
	if n > 0 && &dst[0] == &src[0] {
		panic("streams: CropFlip.Augment: dst and src are the same buffer (augmentation is never in place)")
	}
	span := 2*a.Pad + 1
	for i := range n {
		dy := rng.IntN(span)
		dx := rng.IntN(span)
		flip := rng.IntN(2) == 1
		a.Sample(dst[i*dim:(i+1)*dim], src[i*dim:(i+1)*dim], dy, dx, flip)
	}
}

// Sample writes into dst the H×W window at offsets (dy, dx) of the sample
// src padded with Pad zeros on each side, mirrored left to right when flip
// is set (see CropFlip). dy and dx are in 0..2·Pad; dst and src hold one
// sample each and must not overlap.
func (a CropFlip) Sample(dst, src []float32, dy, dx int, flip bool) {
	C, H, W, P := a.Shape.C, a.Shape.H, a.Shape.W, a.Pad
	if dy < 0 || dy > 2*P || dx < 0 || dx > 2*P {
		panic(fmt.Sprintf("streams: CropFlip.Sample: offsets (%d, %d) outside 0..%d", dy, dx, 2*P))
	}
	dst, src = dst[:C*H*W], src[:C*H*W]
	// Output columns [lo, hi) come from the image; the others are padding.
	// Unflipped: out[x] = in[x+dx-P]; flipped: out[x] = in[W-1-x+dx-P].
	var lo, hi int
	if flip {
		lo, hi = max(0, dx-P), min(W, W+dx-P)
	} else {
		lo, hi = max(0, P-dx), min(W, W+P-dx)
	}
	lo = min(lo, W)
	hi = max(lo, hi)
	for c := range C {
		plane, out := src[c*H*W:(c+1)*H*W], dst[c*H*W:(c+1)*H*W]
		for y := range H {
			row := out[y*W : (y+1)*W]
			sy := y + dy - P
			if sy < 0 || sy >= H {
				clear(row)
				continue
			}
			in := plane[sy*W : (sy+1)*W]
			clear(row[:lo])
			clear(row[hi:])
			switch {
			case lo == hi:
			case flip:
				// out[x] = in[W-1-x+dx-P] for x in [lo, hi).
				base := W - 1 + dx - P
				seg := row[lo:hi]
				for k := range seg {
					seg[k] = in[base-lo-k]
				}
			default:
				copy(row[lo:hi], in[lo+dx-P:hi+dx-P])
			}
		}
	}
}
