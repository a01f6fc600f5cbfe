package datasets

import (
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestShapeCHW(t *testing.T) {
	for _, c := range []struct {
		shape   []int
		c, h, w int
	}{
		{nil, 0, 0, 0},
		{[]int{784}, 1, 1, 784},
		{[]int{28, 28}, 1, 28, 28},
		{[]int{1, 28, 28}, 1, 28, 28},
		{[]int{3, 32, 32}, 3, 32, 32},
		{[]int{2, 3, 4, 5}, 1, 1, 120},
	} {
		c0, h, w := ShapeCHW(c.shape)
		if c0 != c.c || h != c.h || w != c.w {
			t.Errorf("ShapeCHW(%v) = %d×%d×%d, want %d×%d×%d", c.shape, c0, h, w, c.c, c.h, c.w)
		}
		d := &Dataset{Shape: c.shape}
		if c0, h, w := d.CHW(); c0*h*w != d.Dim() {
			t.Errorf("%v: CHW %d×%d×%d but Dim %d", c.shape, c0, h, w, d.Dim())
		}
	}
}

func TestParseShape(t *testing.T) {
	for in, want := range map[string][]int{
		"3x32x32":       {3, 32, 32},
		"3,32,32":       {3, 32, 32},
		" 1 × 28 × 28 ": {1, 28, 28},
		"3X4":           {3, 4},
		"784":           {784},
	} {
		if got, err := ParseShape(in); err != nil || !slices.Equal(got, want) {
			t.Errorf("ParseShape(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "3x0x4", "ax2", "3x-1", "3xx4", "2.5x2"} {
		if got, err := ParseShape(in); err == nil {
			t.Errorf("ParseShape(%q) = %v, want an error", in, got)
		}
	}
}

// imageCSV returns a CSV of 12 rows of 12 features p0..p11 (a 3×2×2
// image, channel-major) and a label y in 0..2, rows 10-12 test.
func imageCSV() string {
	var b strings.Builder
	for j := range 12 {
		fmt.Fprintf(&b, "p%d,", j)
	}
	b.WriteString("y,split\n")
	for i := range 12 {
		for j := range 12 {
			fmt.Fprintf(&b, "%d,", 100*i+j)
		}
		split := "train"
		if i >= 9 {
			split = "test"
		}
		fmt.Fprintf(&b, "%d,%s\n", i%3, split)
	}
	return b.String()
}

func TestTableImageShape(t *testing.T) {
	o := TableOptions{LabelCol: "y", SplitCol: "split", ImageShape: []int{3, 2, 2}}
	p, err := readCSVString(t, imageCSV(), o)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(p.Train.Shape, []int{3, 2, 2}) || !slices.Equal(p.Test.Shape, []int{3, 2, 2}) {
		t.Fatalf("shapes %v %v", p.Train.Shape, p.Test.Shape)
	}
	if c, h, w := p.Train.CHW(); c != 3 || h != 2 || w != 2 {
		t.Errorf("CHW %d×%d×%d", c, h, w)
	}
	// Column order is kept: value j of a sample is column pj (CHW).
	x := make([]float32, 12)
	p.Train.Gather(x, nil, []int32{4})
	for j, v := range x {
		if v != float32(400+j) {
			t.Fatalf("sample 4 = %v", x)
		}
	}

	// A shape that does not match the feature count: one line naming the
	// file and the key.
	for _, shape := range [][]int{{3, 2, 3}, {1, 3, 3}} {
		o.ImageShape = shape
		_, err := readCSVString(t, imageCSV(), o)
		var fe *FileError
		if !errors.As(err, &fe) || !errors.Is(err, ErrCorrupt) || !strings.HasSuffix(fe.Path, "t.csv") ||
			!strings.Contains(err.Error(), fmt.Sprintf("image_shape %s holds %d values, but the samples have 12 features", shapeString(shape), prod(shape))) ||
			strings.Contains(err.Error(), "\n") {
			t.Errorf("image_shape %v: %v", shape, err)
		}
	}

	for _, c := range []struct {
		o    TableOptions
		want string
	}{
		{TableOptions{ImageShape: []int{32, 32}}, "image_shape [32 32]: want three sizes"},
		{TableOptions{ImageShape: []int{3, 0, 32}}, "image_shape [3 0 32]: sizes must be >= 1"},
		{TableOptions{ImageShape: []int{3, 4, 1}, Shape: []int{12}}, "shape [12] and image_shape [3 4 1] were both given"},
	} {
		if err := c.o.Validate(); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Validate(%+v) = %v, want %q", c.o, err, c.want)
		}
		if _, err := readCSVString(t, imageCSV(), c.o); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("reading with %+v: %v, want %q", c.o, err, c.want)
		}
	}
}

func TestIDXSourceImageShape(t *testing.T) {
	dir := t.TempDir()
	writeIDXDir(t, dir, false, 6, 6, 3) // images of 3×2
	p, err := OpenSource(Source{Path: dir, TableOptions: TableOptions{ImageShape: []int{1, 3, 2}}})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(p.Train.Shape, []int{1, 3, 2}) {
		t.Errorf("shape %v", p.Train.Shape)
	}
	_, err = OpenSource(Source{Path: dir, TableOptions: TableOptions{ImageShape: []int{3, 2, 2}}})
	if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), dir+": image_shape 3x2x2 holds 12 values, but the samples have 6 features") {
		t.Errorf("mismatch: %v", err)
	}
	_, err = OpenSource(Source{Path: filepath.Join(dir, "missing")})
	if !errors.Is(err, ErrNotFound) {
		t.Errorf("missing: %v", err)
	}
}
