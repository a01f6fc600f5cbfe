package dashboard

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// wavy is a series of n points at iterations 0..n-1 (every third one
// skipped, so that iterations are not indices) with one point at dip
// set far below the rest.
func wavy(n, dip int) (xs []int, ys []float64, dipIdx int) {
	for t := 0; len(xs) < n; t++ {
		if t%3 == 2 && t != dip {
			continue
		}
		if t == dip {
			dipIdx = len(xs)
		}
		xs = append(xs, t)
		ys = append(ys, 0.85+0.05*math.Sin(float64(t)/50)+0.01*math.Sin(float64(t)*1.7))
	}
	ys[dipIdx] = 0.12
	return xs, ys, dipIdx
}

// A trough of a single evaluation point survives downsampling at every
// zoom level, at its exact iteration and value.
func TestDownsampleKeepsOnePointDip(t *testing.T) {
	t.Parallel()
	const n = 100000
	for _, dip := range []int{0, 1, 37, 75000, 149998} {
		xs, ys, di := wavy(n, dip)
		last := xs[len(xs)-1]
		if xs[di] != dip {
			t.Fatalf("fixture: dip at %d, want %d", xs[di], dip)
		}
		for _, width := range []int{1, 2, 3, 7, 100, 640, 1000, 1920, 8192} {
			for _, span := range []int{last + 1, 100000, 20000, 5000, 1000, 300, 50, 10, 1} {
				for _, shift := range []int{0, 1, span / 3, span / 2, span - 1} {
					from := max(0, dip-shift)
					to := from + span - 1
					if to < dip {
						continue
					}
					idx := Downsample(nil, xs, ys, from, to, width)
					if !slices.Contains(idx, di) {
						t.Fatalf("dip at %d lost: width %d, range [%d, %d] kept %d points", dip, width, from, to, len(idx))
					}
					if len(idx) > 4*width+2 {
						t.Fatalf("width %d, range [%d, %d]: %d points kept, want at most 4 per column + 2", width, from, to, len(idx))
					}
				}
			}
		}
	}
}

// Downsample keeps, per column, exactly the first, lowest, highest and
// last defined point (checked against a direct computation), in increasing
// order, plus the nearest defined point on each side of the range.
func TestDownsampleMatchesColumns(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(1, 2))
	for trial := range 300 {
		n := 1 + rng.IntN(3000)
		xs := make([]int, n)
		ys := make([]float64, n)
		x := rng.IntN(5)
		for i := range xs {
			xs[i] = x
			x += 1 + rng.IntN(4)
			ys[i] = float64(rng.IntN(50)) / 50 // ties on purpose
			if rng.IntN(10) == 0 {
				ys[i] = math.NaN()
			}
		}
		from := rng.IntN(xs[n-1] + 2)
		to := from + rng.IntN(xs[n-1]+3-from)
		width := 1 + rng.IntN(200)
		got, dropped := downsample(nil, xs, ys, from, to, width)

		var want []int
		for i := len(xs) - 1; i >= 0; i-- { // nearest before
			if xs[i] < from && !math.IsNaN(ys[i]) {
				want = append(want, i)
				break
			}
		}
		var in []int
		for i := range xs {
			if xs[i] >= from && xs[i] <= to && !math.IsNaN(ys[i]) {
				in = append(in, i)
			}
		}
		if len(in) <= 4*width {
			want = append(want, in...)
		} else {
			cols := map[int][]int{}
			var order []int
			for _, i := range in {
				c := int(int64(xs[i]-from) * int64(width) / int64(to-from+1))
				if _, ok := cols[c]; !ok {
					order = append(order, c)
				}
				cols[c] = append(cols[c], i)
			}
			for _, c := range order {
				pts := cols[c]
				lo, hi := pts[0], pts[0]
				for _, i := range pts {
					if ys[i] < ys[lo] {
						lo = i
					}
					if ys[i] > ys[hi] {
						hi = i
					}
				}
				keep := []int{pts[0], lo, hi, pts[len(pts)-1]}
				slices.Sort(keep)
				want = append(want, slices.Compact(keep)...)
			}
		}
		for i := range xs { // nearest after
			if xs[i] > to && !math.IsNaN(ys[i]) {
				want = append(want, i)
				break
			}
		}
		if !slices.Equal(got, want) {
			t.Fatalf("trial %d (n %d, [%d, %d], width %d):\n got %v\nwant %v", trial, n, from, to, width, got, want)
		}
		if kept := len(want) - len(slices.DeleteFunc(slices.Clone(want), func(i int) bool { return xs[i] >= from && xs[i] <= to })); dropped != (kept < len(in)) {
			t.Fatalf("trial %d: dropped %v with %d of %d points of the range kept", trial, dropped, kept, len(in))
		}
	}
}

func TestDownsampleEdges(t *testing.T) {
	t.Parallel()
	nan := math.NaN()
	cases := []struct {
		name        string
		xs          []int
		ys          []float64
		from, to, w int
		want        []int
	}{
		{"empty", nil, nil, 0, 10, 5, nil},
		{"zero width", []int{1, 2}, []float64{1, 2}, 0, 10, 0, nil},
		{"to before from", []int{1, 2}, []float64{1, 2}, 5, 4, 3, nil},
		{"all NaN", []int{1, 2}, []float64{nan, nan}, 0, 10, 3, nil},
		{"range between points", []int{0, 10}, []float64{1, 2}, 3, 7, 3, []int{0, 1}},
		{"one column", []int{0, 1, 2, 3, 4, 5}, []float64{5, 1, 9, 9, 1, 5}, 0, 5, 1, []int{0, 1, 2, 5}},
		{"nearest defined outside", []int{0, 1, 2, 3, 4}, []float64{7, nan, 3, nan, 8}, 2, 2, 1, []int{0, 2, 4}},
	}
	for _, c := range cases {
		if got := Downsample(nil, c.xs, c.ys, c.from, c.to, c.w); !slices.Equal(got, c.want) {
			t.Errorf("%s: got %v, want %v", c.name, got, c.want)
		}
	}
}

func BenchmarkDownsample(b *testing.B) {
	xs, ys, _ := wavy(500000, 1234)
	var dst []int
	for b.Loop() {
		dst = Downsample(dst[:0], xs, ys, 0, xs[len(xs)-1], 1600)
	}
}
