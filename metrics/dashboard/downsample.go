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
	if width < 1 || to < from || len(xs) == 0 {
		return dst
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
	defined := 0
	for i := lo; i <= hi; i++ {
		if !math.IsNaN(ys[i]) {
			defined++
		}
	}
	if defined <= 4*width {
		for i := lo; i <= hi; i++ {
			if !math.IsNaN(ys[i]) {
				dst = append(dst, i)
			}
		}
	} else {
		span := int64(to) - int64(from) + 1
		col := func(x int) int { return int((int64(x) - int64(from)) * int64(width) / span) }
		i := lo
		for i <= hi {
			c := col(xs[i])
			first, last, mn, mx := -1, -1, -1, -1
			for ; i <= hi && col(xs[i]) == c; i++ {
				v := ys[i]
				if math.IsNaN(v) {
					continue
				}
				if first < 0 {
					first = i
				}
				last = i
				if mn < 0 || v < ys[mn] {
					mn = i
				}
				if mx < 0 || v > ys[mx] {
					mx = i
				}
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
				if len(dst) == 0 || dst[len(dst)-1] != k {
					dst = append(dst, k)
				}
			}
		}
	}
	// The nearest defined point after the range.
	for i := hi + 1; i < len(xs); i++ {
		if !math.IsNaN(ys[i]) {
			dst = append(dst, i)
			break
		}
	}
	return dst
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
