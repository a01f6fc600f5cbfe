package datasets

import (
	"errors"
	"math/rand/v2"
	"strings"
	"testing"
)

func TestPixelValueMatchesFloat32Division(t *testing.T) {
	differ := 0
	for p := range 256 {
		want := float32(p) / float32(255) // what PyTorch's CPU div_(255) computes
		if got := PixelValue(uint8(p)); got != want {
			t.Fatalf("PixelValue(%d) = %v, want %v", p, got, want)
		}
		if float32(p)*(float32(1)/255) != want {
			differ++
		}
	}
	if PixelValue(0) != 0 || PixelValue(255) != 1 {
		t.Fatalf("PixelValue(0), PixelValue(255) = %v, %v, want 0, 1", PixelValue(0), PixelValue(255))
	}
	// Multiplying by the reciprocal is not the same function; the table must
	// hold the division.
	t.Logf("%d of 256 pixel values differ between p/255 and p*(1/255)", differ)
}

func TestGatherPixels(t *testing.T) {
	const dim = 256
	px := make([]uint8, 2*dim)
	for i := range dim {
		px[i] = uint8(i)
		px[dim+i] = uint8(255 - i)
	}
	d := &Dataset{Name: "ramp", Shape: []int{16, 16}, Pixels: px, Labels: []int32{3, 7}, NumClasses: 8}
	if err := d.Validate(); err != nil {
		t.Fatal(err)
	}
	idx := []int32{1, 0, 1}
	dst := make([]float32, len(idx)*dim+5)
	for i := range dst {
		dst[i] = -1
	}
	ys := make([]int32, len(idx))
	d.Gather(dst, ys, idx)
	for i, j := range idx {
		for k := range dim {
			p := px[int(j)*dim+k]
			if got, want := dst[i*dim+k], float32(p)/255; got != want {
				t.Fatalf("dst[%d][%d] = %v, want %v (pixel %d)", i, k, got, want, p)
			}
		}
		if ys[i] != d.Labels[j] {
			t.Errorf("ys[%d] = %d, want %d", i, ys[i], d.Labels[j])
		}
	}
	for _, v := range dst[len(idx)*dim:] {
		if v != -1 {
			t.Fatal("Gather wrote past len(idx)*Dim")
		}
	}
	if dst[0] != 1 || dst[dim] != 0 || dst[dim+128] != float32(128)/255 {
		t.Errorf("spot values %v %v %v", dst[0], dst[dim], dst[dim+128])
	}
	d.Gather(dst, nil, idx[:1]) // ys nil: labels not written
}

func TestGatherFeatures(t *testing.T) {
	d := &Dataset{Name: "tab", Shape: []int{3}, Features: []float32{1, 2, 3, -4, 5.5, 6}, Labels: []int32{0, 1}, NumClasses: 2}
	if err := d.Validate(); err != nil {
		t.Fatal(err)
	}
	dst := make([]float32, 6)
	ys := make([]int32, 2)
	d.Gather(dst, ys, []int32{1, 0})
	want := []float32{-4, 5.5, 6, 1, 2, 3}
	for i := range want {
		if dst[i] != want[i] {
			t.Fatalf("dst = %v, want %v", dst, want)
		}
	}
	if ys[0] != 1 || ys[1] != 0 {
		t.Fatalf("ys = %v", ys)
	}
}

func TestGatherPanics(t *testing.T) {
	d := &Dataset{Name: "x", Shape: []int{2}, Pixels: []uint8{1, 2, 3, 4}, Labels: []int32{0, 1}, NumClasses: 2}
	for _, tc := range []struct {
		name string
		f    func()
		msg  string
	}{
		{"short dst", func() { d.Gather(make([]float32, 3), nil, []int32{0, 1}) }, "len(dst)"},
		{"short ys", func() { d.Gather(make([]float32, 4), make([]int32, 1), []int32{0, 1}) }, "len(ys)"},
		{"index out of range", func() { d.Gather(make([]float32, 2), nil, []int32{2}) }, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			defer func() {
				r := recover()
				if r == nil {
					t.Fatal("no panic")
				}
				if s, ok := r.(string); tc.msg != "" && (!ok || !strings.Contains(s, tc.msg)) {
					t.Fatalf("panic %v, want one mentioning %q", r, tc.msg)
				}
			}()
			tc.f()
		})
	}
}

func TestGatherDoesNotAllocate(t *testing.T) {
	p, err := Synthetic(SyntheticConfig{Dim: 784, TrainPerClass: 20, TestPerClass: 1})
	if err != nil {
		t.Fatal(err)
	}
	idx := []int32{5, 3, 199, 0}
	dst := make([]float32, len(idx)*784)
	ys := make([]int32, len(idx))
	if a := testing.AllocsPerRun(100, func() { p.Train.Gather(dst, ys, idx) }); a != 0 {
		t.Fatalf("Gather allocates %v times per call", a)
	}
}

func TestClassCounts(t *testing.T) {
	d := &Dataset{Shape: []int{1}, Pixels: make([]uint8, 6), Labels: []int32{0, 2, 2, 1, 2, 9}, NumClasses: 3}
	got := d.ClassCounts()
	if len(got) != 3 || got[0] != 1 || got[1] != 1 || got[2] != 3 {
		t.Fatalf("ClassCounts = %v, want [1 1 3] (label 9 ignored)", got)
	}
}

func TestDatasetValidate(t *testing.T) {
	good := func() *Dataset {
		return &Dataset{Name: "d", Shape: []int{2, 2}, Pixels: make([]uint8, 8), Labels: []int32{0, 1}, NumClasses: 2, ClassNames: []string{"a", "b"}}
	}
	if err := good().Validate(); err != nil {
		t.Fatalf("valid dataset: %v", err)
	}
	nan := float32(0)
	nan /= nan
	for _, tc := range []struct {
		name  string
		edit  func(d *Dataset)
		msg   string
		valid bool
	}{
		{"empty shape", func(d *Dataset) { d.Shape = nil }, "Shape is empty", false},
		{"zero size", func(d *Dataset) { d.Shape = []int{2, 0} }, "Shape[1] = 0", false},
		{"pixels length", func(d *Dataset) { d.Pixels = d.Pixels[:7] }, "len(Pixels) = 7, want 2 samples × 4 = 8", false},
		{"both", func(d *Dataset) { d.Features = make([]float32, 8) }, "both Pixels and Features", false},
		{"neither", func(d *Dataset) { d.Pixels = nil }, "neither Pixels nor Features", false},
		{"features", func(d *Dataset) { d.Pixels, d.Features = nil, make([]float32, 8) }, "", true},
		{"features NaN", func(d *Dataset) { d.Pixels, d.Features = nil, make([]float32, 8); d.Features[5] = nan }, "Features[5] (sample 1) is NaN", false},
		{"no classes", func(d *Dataset) { d.NumClasses = 0 }, "NumClasses = 0", false},
		{"label high", func(d *Dataset) { d.Labels[1] = 2 }, "label 2 at index 1 out of range [0, 2)", false},
		{"label negative", func(d *Dataset) { d.Labels[0] = -1 }, "label -1 at index 0", false},
		{"class names", func(d *Dataset) { d.ClassNames = []string{"a"} }, "len(ClassNames) = 1", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := good()
			tc.edit(d)
			err := d.Validate()
			if tc.valid {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.msg) || !errors.Is(err, ErrCorrupt) {
				t.Fatalf("Validate() = %v, want ErrCorrupt mentioning %q", err, tc.msg)
			}
		})
	}
}

func TestPairValidate(t *testing.T) {
	p, err := Synthetic(SyntheticConfig{NumClasses: 3, Dim: 4, TrainPerClass: 2, TestPerClass: 2})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Validate(); err != nil {
		t.Fatal(err)
	}
	p.Test.Shape = []int{2, 2}
	if err := p.Validate(); err == nil || !strings.Contains(err.Error(), "shape") {
		t.Fatalf("shape mismatch: %v", err)
	}
	if err := (Pair{Train: p.Train}).Validate(); err == nil {
		t.Fatal("nil Test accepted")
	}
}

func BenchmarkGather(b *testing.B) {
	p, err := Synthetic(SyntheticConfig{Dim: 784, TrainPerClass: 600, TestPerClass: 1})
	if err != nil {
		b.Fatal(err)
	}
	d := p.Train
	for _, batch := range []int{32, 128, 512} {
		b.Run("batch="+itoa(batch), func(b *testing.B) {
			rng := rand.New(rand.NewPCG(1, 2))
			idx := make([]int32, batch)
			for i := range idx {
				idx[i] = int32(rng.IntN(d.Len()))
			}
			dst := make([]float32, batch*d.Dim())
			ys := make([]int32, batch)
			b.ReportAllocs()
			b.SetBytes(int64(batch * d.Dim()))
			for b.Loop() {
				d.Gather(dst, ys, idx)
			}
			b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "samples/s")
		})
	}
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var buf [20]byte
	i := len(buf)
	for ; n > 0; n /= 10 {
		i--
		buf[i] = byte('0' + n%10)
	}
	return string(buf[i:])
}
