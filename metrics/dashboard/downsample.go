package dashboard

import "math"

// Downsampling: a chart of W pixel columns shows at most a few points per
// column, so a series with more points in the visible range [from, to] is
// cut into W columns of equal width in iterations, and of the points of
// each column only the first, the lowest, the highest and the last are
// kept (each once, in iteration order; M4). Values are never averaged: a
// dip of a single evaluation point is the minimum of its column and so
// survives at every zoom level, drawn at its exact iteration with its
// exact value. The nearest point outside each side of [from, to] is kept
// too, so that the line reaches the edges of the chart.

// Downsample appends to dst the indices of the points of (xs, ys) to draw
// in a chart of width columns over the iterations [from, to]; xs is
// increasing and NaN values are missing points, never kept. A column
// keeps its first, minimum, maximum and last point (the first of equal
// values); a range with no more defined points than 4·width keeps them
// all.
func Downsample(dst []int, xs []int, ys []float64, from, to, width int) []int {
	dst, _ = downsample(dst, xs, ys, from, to, width)
	return dst
}

// downsample is Downsample; it also reports whether some defined point in
// [from, to] was left out. It reads the points in [from, to] once (twice
// when there are few defined points among many missing ones).
func downsample(dst []int, xs []int, ys []float64, from, to, width int) ([]int, bool) {
	if width < 1 || to < from || len(xs) == 0 {
		return dst, false
	}
	lo := searchInts(xs, from)     // first x >= from
	hi := searchInts(xs, to+1) - 1 // last x <= to
	// The nearest defined point before the range.
	for i := lo - 1; i >= 0; i-- {
		if !math.IsNaN(ys[i]) {
			dst = append(dst, i)
			break
		}
	}
	start := len(dst)
	// The columns' first, lowest, highest and last points, counting the
	// defined points on the way. Column c holds the iterations x with
	// (x-from)·width/span = c, that is from + ⌈c·span/width⌉ <= x <
	// from + ⌈(c+1)·span/width⌉.
	span := int64(to) - int64(from) + 1
	w := int64(width)
	defined := 0
	for i := lo; i <= hi; {
		c := (int64(xs[i]) - int64(from)) * w / span
		end := int64(from) + ((c+1)*span+w-1)/w // first iteration of the next column
		first, last, mn, mx := -1, -1, -1, -1
		var vmn, vmx float64
		for ; i <= hi && int64(xs[i]) < end; i++ {
			v := ys[i]
			if v != v { // NaN: no point
				continue
			}
			defined++
			if first < 0 {
				first, mn, mx, vmn, vmx = i, i, i, v, v
			} else if v < vmn {
				mn, vmn = i, v
			} else if v > vmx {
				mx, vmx = i, v
			}
			last = i
		}
		if first < 0 {
			continue
		}
		// The four in index order, each once.
		a, b := mn, mx
		if b < a {
			a, b = b, a
		}
		for _, k := range [4]int{first, a, b, last} {
			if len(dst) == start || dst[len(dst)-1] != k {
				dst = append(dst, k)
			}
		}
	}
	kept := len(dst) - start
	if defined <= 4*width && kept < defined {
		// Few points: all of them.
		dst = dst[:start]
		for i := lo; i <= hi; i++ {
			if !math.IsNaN(ys[i]) {
				dst = append(dst, i)
			}
		}
		kept = defined
	}
	// The nearest defined point after the range.
	for i := hi + 1; i < len(xs); i++ {
		if !math.IsNaN(ys[i]) {
			dst = append(dst, i)
			break
		}
	}
	return dst, kept < defined
}

// searchInts returns the first index i with xs[i] >= x (len(xs) if none).
func searchInts(xs []int, x int) int {
	lo, hi := 0, len(xs)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if xs[m] < x {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo
}
