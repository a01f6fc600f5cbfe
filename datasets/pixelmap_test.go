package datasets

import (
	"math/rand/v2"
	"slices"
	"testing"
)

func randomImage(rng *rand.Rand, n int) []uint8 {
	img := make([]uint8, n)
	for i := range img {
		img[i] = uint8(rng.IntN(256))
	}
	return img
}

func TestRotationByZeroIsIdentity(t *testing.T) {
	for _, sz := range [][2]int{{28, 28}, {5, 7}, {1, 1}} {
		m := RotationMap(sz[0], sz[1], 0)
		for k := range m.Dim {
			if m.Src[4*k] != int32(k) || m.W[4*k] != 65536 || m.W[4*k+1]+m.W[4*k+2]+m.W[4*k+3] != 0 {
				t.Fatalf("%dx%d: pixel %d: taps %v weights %v, want itself with weight 1", sz[0], sz[1], k, m.Src[4*k:4*k+4], m.W[4*k:4*k+4])
			}
		}
		img := randomImage(rand.New(rand.NewPCG(1, 2)), m.Dim)
		out := make([]uint8, m.Dim)
		m.Apply(out, img)
		if !slices.Equal(out, img) {
			t.Errorf("%dx%d: rotation by 0° changed the image", sz[0], sz[1])
		}
	}
	// 360° is 0°.
	if m := RotationMap(6, 6, 360); !slices.Equal(m.Src, RotationMap(6, 6, 0).Src) {
		t.Error("rotation by 360° differs from 0°")
	}
}

// TestRotationBy90IsAPermutation checks that a rotation by 90° of a square
// image is exactly out[r][c] = in[c][n-1-r] (counter-clockwise: the top
// right corner goes to the top left).
func TestRotationBy90IsAPermutation(t *testing.T) {
	for _, n := range []int{28, 5, 4} {
		m := RotationMap(n, n, 90)
		for r := range n {
			for c := range n {
				k := r*n + c
				want := int32(c*n + (n - 1 - r))
				if m.Src[4*k] != want || m.W[4*k] != 65536 || m.W[4*k+1]+m.W[4*k+2]+m.W[4*k+3] != 0 {
					t.Fatalf("n=%d: pixel (%d,%d): taps %v weights %v, want pixel %d with weight 1", n, r, c, m.Src[4*k:4*k+4], m.W[4*k:4*k+4], want)
				}
			}
		}
		img := randomImage(rand.New(rand.NewPCG(3, 4)), n*n)
		out := make([]uint8, n*n)
		m.Apply(out, img)
		perm := make([]int32, n*n)
		for k := range perm {
			perm[k] = int32((k%n)*n + (n - 1 - k/n))
		}
		want := make([]uint8, n*n)
		PermutationMap("rot90", perm).Apply(want, img)
		if !slices.Equal(out, want) {
			t.Errorf("n=%d: rotation by 90° differs from the index permutation", n)
		}
		// Four quarter turns are the identity; 180° is two of them.
		x := slices.Clone(img)
		for range 4 {
			m.Apply(out, x)
			copy(x, out)
		}
		if !slices.Equal(x, img) {
			t.Errorf("n=%d: four rotations by 90° are not the identity", n)
		}
		half := make([]uint8, n*n)
		RotationMap(n, n, 180).Apply(half, img)
		m.Apply(out, img)
		m.Apply(x, out)
		if !slices.Equal(half, x) {
			t.Errorf("n=%d: rotation by 180° differs from two by 90°", n)
		}
	}
	// Top-right corner to top-left.
	img := make([]uint8, 9)
	img[2] = 200
	out := make([]uint8, 9)
	RotationMap(3, 3, 90).Apply(out, img)
	if out[0] != 200 {
		t.Errorf("rotation by 90° moved the top-right pixel to %v, want top-left", out)
	}
}

func TestRotationWeightsAndInterpolation(t *testing.T) {
	m := RotationMap(28, 28, 37)
	for k := range m.Dim {
		var sum uint32
		for j := range 4 {
			sum += m.W[4*k+j]
			if m.W[4*k+j] != 0 && (m.Src[4*k+j] < 0 || int(m.Src[4*k+j]) >= m.Dim) {
				t.Fatalf("pixel %d: source %d out of range", k, m.Src[4*k+j])
			}
		}
		if sum > 65536 {
			t.Fatalf("pixel %d: weights sum to %d > 65536", k, sum)
		}
	}
	// The centre pixel region of a constant image stays constant; the
	// corners, which come from outside the image, fade to 0.
	img := make([]uint8, 28*28)
	for i := range img {
		img[i] = 100
	}
	out := make([]uint8, len(img))
	m.Apply(out, img)
	if out[14*28+14] != 100 || out[0] != 0 {
		t.Errorf("constant image rotated: centre %d, corner %d, want 100 and 0", out[14*28+14], out[0])
	}
	// A half-pixel shift averages neighbours: rotating a 2x1 image by 180°
	// swaps its pixels exactly.
	r := RotationMap(1, 2, 180)
	o2 := make([]uint8, 2)
	r.Apply(o2, []uint8{10, 250})
	if o2[0] != 250 || o2[1] != 10 {
		t.Errorf("1x2 rotated by 180°: %v, want [250 10]", o2)
	}
}

func TestRandomPermutationMapIsABijection(t *testing.T) {
	a := RandomPermutationMap("p", 784, rand.New(rand.NewPCG(5, 6)))
	b := RandomPermutationMap("p", 784, rand.New(rand.NewPCG(5, 6)))
	c := RandomPermutationMap("p", 784, rand.New(rand.NewPCG(7, 6)))
	sorted := slices.Clone(a.Src)
	slices.Sort(sorted)
	for i, v := range sorted {
		if v != int32(i) {
			t.Fatalf("permutation is not a bijection: sorted sources %v...", sorted[:i+1])
		}
	}
	if !slices.Equal(a.Src, b.Src) {
		t.Error("same seed, different permutations")
	}
	if slices.Equal(a.Src, c.Src) {
		t.Error("different seeds, same permutation")
	}
	fixed := 0
	for i, v := range a.Src {
		if int(v) == i {
			fixed++
		}
	}
	if fixed > 10 {
		t.Errorf("%d fixed points in a random permutation of 784", fixed)
	}
	defer func() {
		if recover() == nil {
			t.Error("PermutationMap accepted a non-permutation")
		}
	}()
	PermutationMap("bad", []int32{0, 0, 1})
}

// TestGatherMappedMatchesStoredCopy checks that transforming at gather time
// gives bit for bit the values of a stored transformed uint8 copy.
func TestGatherMappedMatchesStoredCopy(t *testing.T) {
	rng := rand.New(rand.NewPCG(8, 9))
	d := &Dataset{Name: "img", Shape: []int{28, 28}, Pixels: randomImage(rng, 3*784), Labels: []int32{2, 0, 1}, NumClasses: 3}
	for _, m := range []*PixelMap{RotationMap(28, 28, 80), RotationMap(28, 28, -33.3), RandomPermutationMap("p", 784, rng)} {
		copyDS := &Dataset{Name: "copy", Shape: d.Shape, Labels: d.Labels, NumClasses: 3, Pixels: make([]uint8, len(d.Pixels))}
		for i := range 3 {
			m.Apply(copyDS.Pixels[i*784:(i+1)*784], d.Pixels[i*784:(i+1)*784])
		}
		idx := []int32{2, 0, 1, 2}
		got, want := make([]float32, 4*784), make([]float32, 4*784)
		gy, wy := make([]int32, 4), make([]int32, 4)
		d.GatherMapped(got, gy, idx, m)
		copyDS.Gather(want, wy, idx)
		if !slices.Equal(got, want) || !slices.Equal(gy, wy) {
			t.Errorf("%s: GatherMapped differs from gathering a transformed copy", m.Name)
		}
		if allocs := testing.AllocsPerRun(10, func() { d.GatherMapped(got, gy, idx, m) }); allocs != 0 {
			t.Errorf("%s: GatherMapped allocates %v times", m.Name, allocs)
		}
	}
	// Features: a permutation moves values; a rotation by 90° too.
	f := &Dataset{Name: "f", Shape: []int{2, 2}, Features: []float32{1, 2, 3, 4}, Labels: []int32{0}, NumClasses: 1}
	out := make([]float32, 4)
	f.GatherMapped(out, nil, []int32{0}, RotationMap(2, 2, 90))
	if !slices.Equal(out, []float32{2, 4, 1, 3}) {
		t.Errorf("features rotated by 90°: %v, want [2 4 1 3]", out)
	}
	f.GatherMapped(out, nil, []int32{0}, PermutationMap("p", []int32{3, 2, 1, 0}))
	if !slices.Equal(out, []float32{4, 3, 2, 1}) {
		t.Errorf("features permuted: %v", out)
	}
}

func BenchmarkGatherMapped(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 1))
	d := &Dataset{Name: "img", Shape: []int{28, 28}, Pixels: randomImage(rng, 1000*784), Labels: make([]int32, 1000), NumClasses: 1}
	idx := make([]int32, 256)
	for i := range idx {
		idx[i] = int32(rng.IntN(1000))
	}
	dst := make([]float32, 256*784)
	for _, m := range []*PixelMap{nil, RandomPermutationMap("perm", 784, rng), RotationMap(28, 28, 80)} {
		name := "none"
		if m != nil {
			name = m.Name
		}
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				d.GatherMapped(dst, nil, idx, m)
			}
			b.ReportMetric(256*float64(b.N)/b.Elapsed().Seconds(), "samples/s")
		})
	}
}
